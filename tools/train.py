"""Train a model from an mmpretrain, mmseg or mmdet config.

The config's ``default_scope`` picks the project; see
:mod:`visionllama_mm.apis.launch` for the shared option handling and the
fallbacks for machines without a CUDA device.
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction

import visionllama_mm  # noqa: F401  (registers our classes)
from visionllama_mm.apis import build_runner, prepare_train_config, user_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='dir to save logs and checkpoints')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'optim_wrapper.optimizer.lr=1e-4 or key="[a,b]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    try:
        prepare_train_config(cfg, args)
        runner = build_runner(cfg)
    except user_errors() as e:
        sys.exit(f'train.py: error: {e}')
    try:
        runner.train()
    except user_errors() as e:
        runner.logger.error(str(e))
        sys.exit(f'train.py: error: {e}')


if __name__ == '__main__':
    main()
