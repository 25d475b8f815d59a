"""Test (and evaluate) a checkpoint with an mmpretrain, mmseg or mmdet config.

The config's ``default_scope`` picks the project; see
:mod:`visionllama_mm.utils.launch` for the options shared with ``tools/train.py``
and the fallbacks for machines without a CUDA device.
"""
import argparse

import visionllama_mm  # noqa: F401  (registers our classes)
from visionllama_mm.utils import parse_launch_args, prepare_test_config, run_tool


def add_test_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to this pickle file (.pkl)')
    parser.add_argument(
        '--show-dir',
        help='save painted images here (needs the config\'s visualization '
        'hook)')


def parse_args() -> argparse.Namespace:
    return parse_launch_args(
        'Test (and eval) a model',
        config_help='test config file path',
        work_dir_help='dir to save the file with evaluation metrics',
        cfg_options_example='test_dataloader.batch_size=1',
        add_tool_args=add_test_args)


def main() -> None:
    # a missing checkpoint file shows up only when the runner loads it
    run_tool(
        'test.py',
        parse_args(),
        prepare_test_config,
        'test',
        run_errors=(FileNotFoundError, ))


if __name__ == '__main__':
    main()
