"""Parameters and FLOPs of mmseg, mmdet or mmpretrain configs' models, side by side.

For every config (a file path or an OpenMMLab ``scope::path``): build the model as
``benchmark.py --bench e2e`` does (scope imported, pretrained checkpoints dropped,
eval mode), pass a synthetic ``--shape`` image (batch 1) through the model's data
preprocessor, and count with ``torch.utils.flop_counter.FlopCounterMode``:

- the model's tensor-mode forward, ``model(inputs, data_samples, mode='tensor')``
  (``_forward``: mmseg the decode head's logits, no resize back or slide windows;
  mmdet the head outputs, for two-stage detectors all RPN proposals (up to the
  config's ``rpn`` ``max_per_img``, 1000 in most configs, with random weights) through
  the box head and the first 100 through the mask head; mmpretrain the head's output);
- the backbone alone, ``model.backbone(inputs)``.

Conventions: **a multiply-add counts as 2 FLOPs** (FlopCounterMode's convention, so
the numbers are twice the "MACs" several papers and mmcv's ``get_model_complexity_info``
report); only the aten ops FlopCounterMode knows are counted (matmul, linear,
convolution, SDPA, ...): element-wise ops, normalisation and interpolation are not,
and **mmcv's compiled ops (RoIAlign, deformable convolution, NMS, ...) are not
counted**.

Examples::

    python tools/analysis_tools/get_flops.py \\
        mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py \\
    mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py \\
        --shape 512 512

Prints a Markdown table and writes JSON (``--out``).
"""
import argparse
from typing import Dict, List, Optional

import torch
from mmengine.config import DictAction

from visionllama_mm.utils import (build_model, config_name, get_scope, load_config,
                                  make_batch, markdown_table, model_complexity,
                                  write_json)

HEADER = ('config', 'scope', 'shape', 'params (M)', 'GFLOPs', 'backbone params (M)',
          'backbone GFLOPs')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files or scope::path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=(512, 512),
        metavar=('H', 'W'),
        help='input image size (default 512 512)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every config, key=value')
    parser.add_argument('--out', default='work_dirs/get_flops.json')
    return parser.parse_args(argv)


def measure_config(path: str, args: argparse.Namespace) -> Dict:
    """Parameters and FLOPs of one config's model and backbone; one table row."""
    cfg = load_config(path, args.cfg_options)
    scope = get_scope(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, args.device)
    counts = model_complexity(model, make_batch(scope, args.shape, 1))
    return dict(
        config=config_name(path),
        path=path,
        scope=scope,
        shape=list(args.shape),
        **counts)


def _scaled(value: Optional[int], unit: float) -> str:
    """``value / unit`` with 2 decimals, or 4 significant digits below 1."""
    if value is None:
        return '-'
    scaled = value / unit
    return f'{scaled:.2f}' if scaled >= 1 else f'{scaled:.4g}'


def format_row(row: Dict) -> List[str]:
    return [
        row['config'], row['scope'], 'x'.join(map(str, row['shape'])),
        _scaled(row['params'], 1e6),
        _scaled(row['flops'], 1e9),
        _scaled(row.get('backbone_params'), 1e6),
        _scaled(row.get('backbone_flops'), 1e9)
    ]


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    rows = [measure_config(path, args) for path in args.configs]
    print('\nFLOPs of the tensor-mode forward at batch 1 (FlopCounterMode: a '
          'multiply-add = 2 FLOPs; mmcv ops not counted)\n')
    print(markdown_table(HEADER, [format_row(row) for row in rows]))
    result = dict(shape=list(args.shape), flops_per_mac=2, rows=rows)
    print(f'\nwrote {write_json(args.out, result)}')
    return result


if __name__ == '__main__':
    main()
