"""Convert official VisionLLaMA checkpoints (plain and pyramid) to visionllama_mm keys.

Layouts ``deit``, ``pyramid`` and ``mae`` (detected from the keys): see
:mod:`visionllama_mm.models.converters.visionllama`. SRC may be the release's
training checkpoint itself (``best_checkpoint.pth``, ``epoch_800.pth``): it is read
weights-only, with only the ``argparse.Namespace`` / message hub it holds allowed
(:func:`visionllama_mm.fileio.load_training_checkpoint`). For the published weights,
``fetch_weights.py NAME`` downloads and converts in one step.

The output is a ``{'state_dict': ...}`` file with ``backbone.`` keys (and ``head.fc.``
for a classifier head), usable as ``load_from`` of a classifier or via
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.

Usage: python tools/model_converters/visionllama2mm.py SRC DST [--layout deit|pyramid|mae]
"""
import argparse
import sys

import torch

from visionllama_mm.errors import UserError
from visionllama_mm.fileio import load_training_checkpoint
from visionllama_mm.models.converters import LAYOUTS
from visionllama_mm.models.converters import convert_visionllama as convert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output file')
    parser.add_argument(
        '--layout',
        choices=LAYOUTS,
        default=None,
        help='release layout (detected from the keys by default)')
    parser.add_argument(
        '--keep-selfsup-heads',
        action='store_true',
        help='keep neck/head entries of an MAE checkpoint')
    args = parser.parse_args()
    try:
        state = convert(
            load_training_checkpoint(args.src), args.layout, args.keep_selfsup_heads)
    except (UserError, KeyError, ValueError) as err:
        sys.exit(f'visionllama2mm.py: error: {err.args[0] if err.args else err}')
    torch.save({'state_dict': state}, args.dst)
    print(f'converted {len(state)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
