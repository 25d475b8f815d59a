"""Convert apple/ml-aim (AIM v1) torch checkpoints to visionllama_mm keys.

The key mapping is :mod:`visionllama_mm.models.converters.aim`: the released
``*_attnprobe_backbone.pth`` trunk and, with ``--head``, an
``*_attnprobe_head_{best,last}_layers.pth`` probe head become one ``AIM`` +
``AttentionPoolingClassifier`` checkpoint (``{'state_dict': ...}``). For the published
weights, ``fetch_weights.py NAME`` downloads and converts in one step.

Usage: python tools/model_converters/aim2mm.py SRC DST [--head HEAD_CKPT]
"""
import argparse
import sys

import torch

from visionllama_mm.errors import UserError
from visionllama_mm.fileio import load_checkpoint_file
from visionllama_mm.models.converters import convert_aim, merge_aim_head, unwrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='ml-aim backbone (or merged) state dict')
    parser.add_argument('dst', help='output file ({"state_dict": ...})')
    parser.add_argument('--head', default=None, help='ml-aim attention-probe head file')
    args = parser.parse_args()
    try:
        state = unwrap(load_checkpoint_file(args.src))
        if args.head:
            state = merge_aim_head(state, load_checkpoint_file(args.head))
        converted = convert_aim(state)
    except (UserError, KeyError, ValueError) as err:
        sys.exit(f'aim2mm.py: error: {err.args[0] if err.args else err}')
    torch.save({'state_dict': converted}, args.dst)
    print(f'converted {len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
