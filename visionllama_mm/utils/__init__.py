"""Tool plumbing shared by ``tools/``: the launch helpers of ``tools/train.py`` /
``tools/test.py`` (:mod:`.launch`) and the analysis tools' helpers (:mod:`.analysis`:
config loading from ``scope::path``, model building, synthetic batches, timing and
FLOPs).

Importing this package imports mmengine only; torch, the runner and the downstream
projects (mmpretrain, mmseg, mmdet) are imported on use.
"""
from .analysis import (build_model, config_name, count_flops, describe_device,
                       interleaved_seconds, load_config, make_batch, markdown_table,
                       median_seconds, model_complexity, ratio_stats, resolve_config_path,
                       seg_test_mode, strip_pretrained)
from .launch import (SUPPORTED_SCOPES, LaunchError, add_reliability_hooks, build_runner,
                     check_amp, convert_syncbn_for_cpu, get_scope, import_scope,
                     init_cpu_distributed, parse_launch_args, prepare_test_config,
                     prepare_train_config, run_tool, setup_cpu_distributed, user_errors)

__all__ = [
    'SUPPORTED_SCOPES', 'LaunchError', 'get_scope', 'import_scope',
    'convert_syncbn_for_cpu', 'check_amp', 'setup_cpu_distributed',
    'init_cpu_distributed', 'prepare_train_config', 'prepare_test_config', 'build_runner',
    'add_reliability_hooks', 'user_errors', 'parse_launch_args', 'run_tool',
    'resolve_config_path', 'load_config', 'config_name', 'strip_pretrained',
    'build_model', 'make_batch', 'seg_test_mode', 'median_seconds', 'interleaved_seconds',
    'ratio_stats', 'count_flops', 'model_complexity', 'describe_device', 'markdown_table'
]
