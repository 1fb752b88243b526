import matplotlib
import pytest

matplotlib.use("Agg")


def pytest_collection_modifyitems(items):
    # Everything under tests/browser drives a real browser: mark it so `make unit` can skip it.
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def no_archive(monkeypatch):
    """Unit tests train what they ask for: the repository's run archive (archive/full) is read
    only by tests that point $QKAN_ARCHIVE at an archive themselves."""
    monkeypatch.setenv("QKAN_ARCHIVE", "")
    monkeypatch.delenv("QKAN_NO_TRAINING", raising=False)
