"""Convert a timm ``VisionTransformer`` without class token to ``ViTG`` keys.

Supported layouts: timm's ``vit_gigantic_patch14_224`` (ViT-G/14) and
``vit_giant_patch14_224`` (ViT-g/14), and any timm ViT of the same structure, built with
``class_token=False`` and ``global_pool='map'`` (the paper's setup) or ``'avg'``.
With ``class_token=False`` timm's ``pos_embed`` is ``(1, h*w, C)`` whether or not
``no_embed_class`` is set, which is exactly ``ViTG.pos_embed``.

The key mapping is :mod:`visionllama_mm.models.converters.timm_vit`.

Usage: python tools/model_converters/timm_vit2mm.py SRC DST [--map-head]
SRC: a ``.pth`` / ``.bin`` (optionally under ``state_dict`` / ``model``) or
``.safetensors`` file.
"""
import argparse
from typing import Dict

import torch

from visionllama_mm.fileio import load_checkpoint_file
from visionllama_mm.models.converters import convert_timm_vit, unwrap


def load_source(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    return unwrap(load_checkpoint_file(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='timm checkpoint (.pth/.bin/.safetensors)')
    parser.add_argument('dst', help='output {"state_dict": ...} file')
    parser.add_argument(
        '--map-head',
        action='store_true',
        help='put attn_pool into MAPClsHead (head.pool.*) instead of '
        "the backbone (ViTG out_type='map')")
    args = parser.parse_args()
    state = convert_timm_vit(load_source(args.src), map_head=args.map_head)
    torch.save({'state_dict': state, 'meta': {'source': args.src}}, args.dst)
    print(f'converted {len(state)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
