"""Shared test setup: run from the repository root (configs use relative data paths)."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tests/reference.py


@pytest.fixture(autouse=True)
def _repo_root_cwd(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)


def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '2')
