import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PRFAAS_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "measurements").is_dir():
        pytest.skip(f"needs the shared data folder {SHARED} (measurements, traces, paper facts: ../shared next to "
                    "a clone in /work/<dir>); set PRFAAS_SHARED=PATH to point at a copy")
    return SHARED


# Deterministic property tests: the same examples on every run and in CI (no flaky failures);
# HYPOTHESIS_PROFILE=explore searches new random examples locally.
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(scope="session", autouse=True)
def _yaml_cache(tmp_path_factory):
    """The persistent cache of parsed YAML (`io.yamlcache`) in a folder of this test session, not
    the user's ~/.cache (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRFAAS_CACHE_DIR", str(tmp_path_factory.mktemp("yaml-cache")))
        yield
