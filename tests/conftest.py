"""Shared test setup: run from the repository root (configs use relative data paths)."""
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # for tests/reference.py

#: The ``slow`` marker (``make test-fast`` runs ``pytest -m "not slow"``; ``make test``
#: runs everything). Rule: a test is slow if it spawns a subprocess (a tool's command
#: line, tools/train.py), compiles (``torch.compile``), starts a distributed (DDP /
#: FSDP) process group, or trains through an mmengine runner (``runner.train()``).
#: Given here, by module (:data:`SLOW_MODULES`: every test of it) or by test function
#: (:data:`SLOW_TESTS`), so the test files need no edit; a new test may carry
#: ``@pytest.mark.slow`` itself. tests/test_slow_marker.py parses every test and fails
#: on one that does such work unmarked, or on a name here that no longer exists.
SLOW_MODULES = (
    'test_import_only_registers.py',
    'test_reliability/test_payloads.py',
    'test_reliability/test_resume.py',
    'test_tools/test_dist_train.py',
    'test_tools/test_mae_handover.py',
    'test_tools/test_pyramid_demos.py',
    'test_tools/test_train_demo.py',
    'test_tools/test_upstream_tools.py',
)
SLOW_TESTS = {
    'test_apis/test_launch.py': ('test_cpu_ddp_builds_with_the_generated_wrapper', ),
    'test_configs/test_aim_configs.py': ('test_demo_config_runs_through_the_runner', ),
    'test_configs/test_fsdp_configs.py':
    ('test_tiny_vitg_fsdp_trains_in_two_cpu_processes', ),
    'test_configs/test_vitg_configs.py': ('test_demo_config_runs_through_the_runner', ),
    'test_engine/test_save_weights_hook.py': ('test_after_train_writes_weights_only_file',
                                              'test_interval_by_epoch_and_by_iter'),
    'test_fileio.py': ('test_mmengine_pickled_checkpoint_is_refused_with_the_conversion',
                       'test_no_loading_path_of_ours_executes_a_pickle_payload'),
    'test_models/test_backbones/test_compile_and_meta.py':
    ('test_compiles_fullgraph_forward_backward_without_recompiles', ),
    'test_models/test_backbones/test_vision_llama.py':
    ('test_compiles_fullgraph_forward_and_backward', ),
    'test_models/test_layers/test_rope.py': ('test_compiles_fullgraph', ),
    'test_reliability/test_bad_input.py':
    ('test_non_finite_loss_stops_naming_iteration_and_checkpoint', ),
    'test_reliability/test_bad_input_coco.py':
    ('test_a_real_run_stops_before_the_first_batch', ),
    'test_reliability/test_checked_loading.py':
    ('test_testing_another_models_checkpoint_fails',
     'test_load_from_another_model_is_an_error_unless_partial_is_intended',
     'test_bad_checkpoint_content_is_named',
     'test_non_finite_loss_names_a_checkpoint_with_finite_weights'),
    'test_reliability/test_checkpoints.py':
    ('test_kill_during_save_then_resume_and_corrupt_latest', ),
    'test_tools/test_aim2mm.py':
    ('test_cli_converts_split_files_and_matches_release_probe', ),
    'test_tools/test_make_fewshot_ann.py':
    ('test_k_shot_file_from_the_ann_file_loads_in_mmpretrain', ),
    'test_tools/test_timm_vit2mm.py': ('test_command_line', ),
    'test_tools/test_visionllama2mm.py': ('test_deit_layout_matches_official_forward', ),
}


def is_slow(module: str, test: str) -> bool:
    """Whether ``test`` (a function name) of ``module`` (relative to tests/) is listed
    slow."""
    return module in SLOW_MODULES or test in SLOW_TESTS.get(module, ())


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
    config.addinivalue_line(
        'markers', 'slow: spawns a subprocess, compiles, starts a distributed group or '
        'trains through a runner (rule and lists: tests/conftest.py); '
        '`make test-fast` leaves these out')


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed slow (:func:`is_slow`) ``slow``."""
    for item in items:
        module = Path(str(item.fspath)).resolve().relative_to(TESTS).as_posix()
        if is_slow(module, getattr(item, 'originalname', item.name)):
            item.add_marker(pytest.mark.slow)
