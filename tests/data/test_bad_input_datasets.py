"""Bad dataset parameters are refused when the dataset is built, naming the parameter (issue 12)."""

import numpy as np
import pytest

from qkan_lib.data import milan
from qkan_lib.data import registry as D


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, -0.2, 1.5, float("nan"), True, "0.5", None])
def test_train_fraction_outside_zero_one_is_refused(bad):
    with pytest.raises(
        ValueError, match=rf"train_fraction must be a number strictly between 0 and 1, got {bad!r}"
    ):
        D.synthetic_dataset("bessel", train_fraction=bad)


@pytest.mark.parametrize(
    "fraction, seq_len, empty",
    [(0.001, 4, "train"), (0.4, 237, "train"), (0.67, 238, "train"), (0.5, 238, "train")],
)
def test_a_split_left_empty_is_refused_at_build_time(fraction, seq_len, empty):
    # damped SHM: 240 points -> 240 - seq_len - 1 windows
    with pytest.raises(
        ValueError,
        match=rf"train_fraction={fraction} with seq_len={seq_len} leaves the {empty} split",
    ):
        D.synthetic_dataset("damped_shm", seq_len=seq_len, train_fraction=fraction)


@pytest.mark.parametrize(
    "seq_len, problem",
    [
        (0, "seq_len must be an integer >= 1, got 0"),
        (2.5, "seq_len must be an integer >= 1, got 2.5"),
        (239, "seq_len=239: a series of length 240 has no windows"),
    ],
)
def test_bad_seq_len_is_named(seq_len, problem):
    with pytest.raises(ValueError, match=problem):
        D.load_dataset("damped_shm", seq_len=seq_len)


def test_the_smallest_valid_splits_still_build():
    data = D.synthetic_dataset(
        "damped_shm", seq_len=237, train_fraction=0.67
    )  # 2 windows: 1 train, 1 test
    assert (len(data.x_train), len(data.x_test)) == (1, 1)
    assert len(D.synthetic_dataset("bessel", train_fraction=0.01).x_train) == 2


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    folder = milan.write_stand_in(tmp_path_factory.mktemp("standin") / "s", days=2, seed=5)
    return milan.load_milan_sms(folder)  # 288 slots


@pytest.mark.parametrize(
    "fractions, problem",
    [
        ((0.7, 0.3, 0.0), r"fractions \(test\) must be a number strictly between 0 and 1, got 0.0"),
        ((1.0, 0.0, 0.0), r"fractions \(train\) must be a number strictly between 0 and 1"),
        ((0.5, 0.5), "fractions must be three numbers"),
        ((0.6, 0.3, 0.3), "summing to 1"),
        ((0.7, "a", 0.3), r"fractions \(val\) must be a number"),
        (0.7, "fractions must be three numbers"),
        ((0.7, float("nan"), 0.3), r"fractions \(val\) must be a number"),
    ],
)
def test_urban_fractions_are_checked(series, fractions, problem):
    with pytest.raises(ValueError, match=problem):
        D.urban_dataset(series, fractions=fractions)


@pytest.mark.parametrize(
    "seq_len, fractions, split",
    [
        (42, (0.7, 0.15, 0.15), "val"),  # 288 slots: val gets 43 slots < 42 + 2
        (40, (0.8, 0.1, 0.1), "val"),
        (30, (0.1, 0.45, 0.45), "train"),
    ],
)
def test_urban_seq_len_that_leaves_a_split_without_windows(series, seq_len, fractions, split):
    with pytest.raises(
        ValueError, match=rf"seq_len={seq_len} with fractions=.* leaves the {split} split without"
    ):
        D.urban_dataset(series, seq_len=seq_len, fractions=fractions)


def test_urban_longest_valid_seq_len_builds(series):
    n = series.values.shape[0]
    cut1, cut2 = int(0.7 * n), int(0.85 * n)
    longest = min(cut1, cut2 - cut1, n - cut2) - 2  # each split keeps exactly >= 1 window
    data = D.urban_dataset(series, seq_len=longest)
    assert min(len(x) for _, x, _ in data.splits()) == 1
    with pytest.raises(ValueError, match="leaves the"):
        D.urban_dataset(series, seq_len=longest + 1)


@pytest.mark.parametrize(
    "option, bad, problem",
    [
        ("cells", 0, "cells must be an integer >= 1"),
        ("cells", 1.5, "cells must be an integer >= 1"),
        ("seq_len", -1, "seq_len must be an integer >= 1"),
        ("min_coverage", 1.5, "min_coverage must be a number from 0 to 1"),
        ("min_coverage", "high", "min_coverage must be a number from 0 to 1"),
        ("max_gap", -1, "max_gap must be a non-negative integer"),
        ("max_gap", 2.5, "max_gap must be a non-negative integer"),
    ],
)
def test_urban_options_are_named(series, option, bad, problem):
    with pytest.raises(ValueError, match=problem):
        D.urban_dataset(series, **{option: bad})


def test_urban_needs_a_milan_series():
    with pytest.raises(ValueError, match="series must be a MilanSeries"):
        D.urban_dataset(np.zeros((100, 2)))


def test_milan_source_names_the_setting_that_points_nowhere(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(
        milan.MilanPathError, match=rf"milan_dir='{missing}': Milan data folder not found"
    ):
        D.milan_source(missing)
    monkeypatch.setenv(milan.ENV_VAR, str(missing))
    with pytest.raises(
        milan.MilanPathError, match=rf"\$QKAN_MILAN_DIR='{missing}': Milan data folder not found"
    ):
        D.milan_source()
    with pytest.raises(ValueError, match="milan_dir must be a folder path"):
        D.milan_source(42)


def test_milan_source_accepts_a_single_day_file(tmp_path):
    folder = milan.write_stand_in(tmp_path / "s", days=1, seed=2)
    day = next(folder.glob("sms-*.txt"))
    assert D.milan_source(str(day)) == (day, True)


def test_milan_dir_for_a_synthetic_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="milan_dir applies only to the 'urban' dataset"):
        D.load_dataset("bessel", milan_dir=tmp_path)
