import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PRFAAS_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "measurements").is_dir():
        pytest.skip("../shared not present")
    return SHARED
