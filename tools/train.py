"""Train a model from an mmpretrain, mmseg or mmdet config.

The config's ``default_scope`` picks the project; see
:mod:`visionllama_mm.utils.launch` for the options shared with ``tools/test.py``
and the fallbacks for machines without a CUDA device.
"""
import argparse

import visionllama_mm  # noqa: F401  (registers our classes)
from visionllama_mm.utils import parse_launch_args, prepare_train_config, run_tool


def add_train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a value, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision training (GPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')


def parse_args() -> argparse.Namespace:
    return parse_launch_args(
        'Train a model',
        config_help='train config file path',
        work_dir_help='dir to save logs and checkpoints',
        cfg_options_example='optim_wrapper.optimizer.lr=1e-4',
        add_tool_args=add_train_args)


def main() -> None:
    run_tool('train.py', parse_args(), prepare_train_config, 'train')


if __name__ == '__main__':
    main()
