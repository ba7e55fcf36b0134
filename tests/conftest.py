"""Test-wide settings."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _calibration_cache_outside_home(tmp_path_factory):
    """Posterior caches go to a temporary folder, not the user's ~/.cache (a module may point
    it elsewhere again for its own tests)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CAPEX_CACHE_DIR", str(tmp_path_factory.mktemp("capex-cache")))
    yield
    mp.undo()


def _hypothesis_profiles():
    """Under CI (CI=true) hypothesis runs derandomized: the same examples every run, so a
    red build is reproducible; locally each run explores new examples."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")


_hypothesis_profiles()
