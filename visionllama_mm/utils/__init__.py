"""Tool plumbing shared by ``tools/``: the launch helpers of ``tools/train.py`` /
``tools/test.py`` (:mod:`.launch`), the analysis tools' configs, models and batches
(:mod:`.analysis`: config loading from ``scope::path``, model building, synthetic
batches) and their measuring and reporting (:mod:`.benchmark`: interleaved timing,
ratios, FLOPs, Markdown).

Importing this package imports mmengine only; torch, the runner and the downstream
projects (mmpretrain, mmseg, mmdet) are imported on use.
"""
from .analysis import (build_model, config_name, init_weights_quietly, load_config,
                       make_batch, model_complexity, resolve_config_path, seg_test_mode,
                       strip_pretrained)
from .benchmark import (comparison_groups, count_flops, describe_device, flop_counter,
                        interleaved_seconds, markdown_table, matmul_tflops,
                        measure_groups, median_seconds, num_params, pair_ratios,
                        ratio_stats, ratios_table, rows_table, synchronize, write_json)
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
    'build_model', 'init_weights_quietly', 'make_batch', 'seg_test_mode',
    'model_complexity', 'synchronize', 'median_seconds', 'interleaved_seconds',
    'ratio_stats', 'comparison_groups', 'measure_groups', 'pair_ratios', 'matmul_tflops',
    'flop_counter', 'count_flops', 'num_params', 'describe_device', 'markdown_table',
    'rows_table', 'ratios_table', 'write_json'
]
