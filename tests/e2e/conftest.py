import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
ISO = REPO / "images" / "xenbox.iso"
LOGS = REPO / "images" / "test-logs"


@pytest.fixture(scope="session")
def iso() -> Path:
    if not ISO.exists():
        pytest.fail(f"{ISO} is missing: `make test` builds it first (make images/xenbox.iso)")
    LOGS.mkdir(parents=True, exist_ok=True)
    return ISO


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long scenario, for `make e2e-slow` only (make test leaves it out)")
