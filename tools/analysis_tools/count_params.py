"""Parameter counts of registered backbones, built on the meta device (no RAM).

Every ``TYPE:ARCH`` pair is built as ``MODELS.build(dict(type=TYPE, arch=ARCH))`` under
``torch.device('meta')``: shapes only, so a 7B model costs nothing. Prints a Markdown
table (total, trainable, blocks, patch embedding, rest). Example::

    python tools/analysis_tools/count_params.py --models AIM:600m AIM:1b AIM:3b AIM:7b

``--cfg-options`` style extra keyword arguments can be added per run with ``--kwargs``
(a Python dict literal applied to every model, e.g. ``"{'img_size': 224}"``).
"""
import argparse
import ast
from typing import Dict, List, Sequence

import torch
from mmpretrain.registry import MODELS

import visionllama_mm  # noqa: F401  (registers the backbones)
from visionllama_mm.utils import markdown_table, num_params


def count(model: torch.nn.Module) -> Dict[str, int]:
    """Total and trainable parameters, and those of the blocks, the patch embedding
    and the rest."""
    params = dict(model.named_parameters())
    blocks = sum(p.numel() for n, p in params.items()
                 if n.startswith(('layers.', 'blocks.')))
    embed = sum(p.numel() for n, p in params.items() if n.startswith('patch_embed'))
    total = num_params(model)
    return dict(
        total=total,
        trainable=num_params(model, trainable=True),
        blocks=blocks,
        patch_embed=embed,
        other=total - blocks - embed)


def build_on_meta(spec: str, **kwargs) -> torch.nn.Module:
    """``'TYPE:ARCH'`` -> the model with meta tensors.

    Raises:
        ValueError: ``spec`` is not ``TYPE:ARCH``.
        KeyError: ``TYPE`` is not registered.
        RuntimeError: the model's ``__init__`` reads tensor values.
    """
    if spec.count(':') != 1:
        raise ValueError(f'expected TYPE:ARCH (e.g. AIM:600m), got {spec!r}')
    type_, arch = spec.split(':')
    if MODELS.get(type_) is None:
        raise KeyError(f'{type_!r} is not a registered model')
    try:
        with torch.device('meta'):
            return MODELS.build(dict(type=type_, arch=arch, **kwargs))
    except NotImplementedError as err:  # e.g. .tolist() / .item() in __init__
        raise RuntimeError(f'{spec} cannot be built on the meta device: its __init__ '
                           f'reads tensor values ({err})') from err


def table(specs: Sequence[str], **kwargs) -> List[str]:
    """The lines of the Markdown table, one row per ``TYPE:ARCH``."""
    rows = []
    for spec in specs:
        c = count(build_on_meta(spec, **kwargs))
        rows.append([
            spec, f"{c['total'] / 1e6:,.2f}M", f"{c['trainable'] / 1e6:,.2f}M",
            f"{c['blocks'] / 1e6:,.2f}M", f"{c['patch_embed'] / 1e6:,.3f}M",
            f"{c['other'] / 1e6:,.3f}M"
        ])
    header = ('model', 'params', 'trainable', 'blocks', 'patch embed', 'other')
    return markdown_table(header, rows).split('\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', required=True, metavar='TYPE:ARCH')
    parser.add_argument(
        '--kwargs', default='{}', help='dict literal of extra constructor arguments')
    args = parser.parse_args()
    print('\n'.join(table(args.models, **ast.literal_eval(args.kwargs))))


if __name__ == '__main__':
    main()
