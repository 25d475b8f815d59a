"""Test (and evaluate) a checkpoint with an mmpretrain, mmseg or mmdet config.

The config's ``default_scope`` picks the project; see
:mod:`visionllama_mm.apis.launch` for the shared option handling and the
fallbacks for machines without a CUDA device.
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction

import visionllama_mm  # noqa: F401  (registers our classes)
from visionllama_mm.apis import build_runner, prepare_test_config, user_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='dir to save the file with evaluation metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file (.pkl)')
    parser.add_argument(
        '--show-dir',
        help='save painted images here (needs the config\'s visualization '
        'hook)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'test_dataloader.batch_size=1 or key="[a,b]"')
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
        prepare_test_config(cfg, args)
        runner = build_runner(cfg)
    except user_errors() as e:
        sys.exit(f'test.py: error: {e}')
    try:
        runner.test()
    except (*user_errors(), FileNotFoundError) as e:
        runner.logger.error(str(e))
        sys.exit(f'test.py: error: {e}')


if __name__ == '__main__':
    main()
