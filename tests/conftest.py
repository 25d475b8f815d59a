"""Shared test setup: run from the repository root (configs use relative data paths)."""
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tests/reference.py


@pytest.fixture(autouse=True)
def _repo_root_cwd(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)


@pytest.fixture(autouse=True)
def _seed_every_test():
    """Every test starts from the same random state (Python, numpy and torch), so a
    result never depends on which tests ran before it. (torch is imported here, not
    at the top: ``pytest_configure`` sets ``OMP_NUM_THREADS`` before its first
    import.)"""
    import torch
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_default_scope_from_other_tests():
    """A runner built in one test leaves its ``default_scope`` as mmengine's current
    ``DefaultScope`` (the latest instance created); each test starts with the
    instances the previous one found, so a later test building, e.g., an mmpretrain
    model never looks in mmdet's registry."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '2')
