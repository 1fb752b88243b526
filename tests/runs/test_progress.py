import pytest

from qkan_lib.runs.progress import ENV_VAR, in_jupyter_kernel, progress_enabled


def test_progress_follows_the_request_then_the_environment(monkeypatch):
    assert progress_enabled(True) is True and progress_enabled(False) is False
    monkeypatch.setenv(ENV_VAR, "0")
    assert progress_enabled() is False
    monkeypatch.setenv(ENV_VAR, "1")
    assert progress_enabled() is True
    monkeypatch.setenv(ENV_VAR, "yes")
    with pytest.raises(ValueError, match=ENV_VAR):
        progress_enabled()
    monkeypatch.delenv(ENV_VAR)
    assert in_jupyter_kernel() is False  # pytest is no Jupyter kernel
