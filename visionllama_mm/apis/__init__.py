"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py``.

Importing this package imports mmengine only; torch, the runner and the
downstream projects (mmpretrain, mmseg, mmdet) are imported on use.
"""
from .launch import (SUPPORTED_SCOPES, LaunchError, build_runner, check_amp,
                     convert_syncbn_for_cpu, get_scope, import_scope,
                     init_cpu_distributed, prepare_test_config,
                     prepare_train_config, setup_cpu_distributed)

__all__ = [
    'SUPPORTED_SCOPES', 'LaunchError', 'get_scope', 'import_scope',
    'convert_syncbn_for_cpu', 'check_amp', 'setup_cpu_distributed',
    'init_cpu_distributed', 'prepare_train_config', 'prepare_test_config',
    'build_runner'
]
