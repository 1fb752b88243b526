import matplotlib
import pytest

matplotlib.use("Agg")


def pytest_collection_modifyitems(items):
    # Everything under tests/browser drives a real browser: mark it so `make unit` can skip it.
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
