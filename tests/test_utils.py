"""Seeding, device choice and input checks (qkan_lib.utils)."""

import random

import numpy as np
import pytest
import torch

import qkan_lib as ql


def test_one_seed_fixes_every_generator():
    draws = []
    for _ in range(2):
        generator = ql.seed_everything(42)
        draws.append(
            (
                random.random(),
                np.random.rand(),
                torch.rand(1).item(),
                torch.rand(1, generator=generator).item(),
            )
        )
    assert draws[0] == draws[1]
    ql.seed_everything(43)
    assert torch.rand(1).item() != draws[0][2]


@pytest.mark.parametrize("bad", [-1, 1.5, "0", None])
def test_seed_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="seed must be"):
        ql.seed_everything(bad)


def test_device_choice():
    assert ql.resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert ql.resolve_device("auto").type == expected
    assert ql.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        ql.resolve_device("tpu-9000")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            ql.resolve_device("cuda")


def test_environment_is_recorded():
    info = ql.environment_info("cpu")
    assert info["device"] == "cpu" and info["torch"] == torch.__version__ and info["qkan_lib"]


def test_intra_op_threads_are_restored():
    from qkan_lib.utils import intra_op_threads

    before = torch.get_num_threads()
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with intra_op_threads(None):
        assert torch.get_num_threads() == before
