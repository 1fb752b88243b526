"""Paths printed on a page never carry the absolute path of the machine that built it."""

from pathlib import Path

from qkan_lib.data.registry import milan_source
from qkan_lib.data.urban import cache_dir, display_path


def test_paths_are_shown_relative_to_a_named_root(tmp_path, monkeypatch):
    cache, milan, work = tmp_path / "cache", tmp_path / "milan", tmp_path / "work"
    for folder in (cache, milan, work):
        folder.mkdir()
    monkeypatch.setenv("QKAN_CACHE", str(cache))
    monkeypatch.setenv("QKAN_MILAN_DIR", str(milan))
    monkeypatch.chdir(work)
    assert cache_dir() == cache
    assert (
        display_path(cache / "milan_stand_in_14d_seed0") == "$QKAN_CACHE/milan_stand_in_14d_seed0"
    )
    assert (
        display_path(milan / "sms-call-internet-mi-2013-11-01.txt")
        == "$QKAN_MILAN_DIR/sms-call-internet-mi-2013-11-01.txt"
    )
    assert display_path(milan) == "$QKAN_MILAN_DIR"
    assert display_path("data/milan") == "./data/milan"
    if not str(tmp_path).startswith(str(Path.home())):
        assert display_path(Path.home() / "x" / "y") == "~/x/y"
    outside = display_path("/opt/somewhere/else")
    assert outside == "<...>/else"


def test_the_stand_in_folder_prints_without_the_home_path(tmp_path, monkeypatch):
    monkeypatch.setenv("QKAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("QKAN_MILAN_DIR", raising=False)
    directory, stand_in = milan_source(stand_in_days=2, seed=0)
    shown = display_path(directory)
    assert stand_in and shown == "$QKAN_CACHE/milan_stand_in_2d_seed0"
    assert str(tmp_path) not in shown and str(Path.home()) not in shown
