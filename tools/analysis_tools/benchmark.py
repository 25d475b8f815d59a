"""End-to-end inference images/s of mmseg, mmdet or mmpretrain configs, side by side.

For every config: load it (a file path or an OpenMMLab ``scope::path`` such as
``mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py``),
import its scope, drop pretrained checkpoints (random weights; the speed does not
depend on them), build the model and time ``model.test_step(data)`` under
``torch.no_grad()`` on a synthetic batch of ``--batch-size`` uint8 ``--shape`` images
with the scope's data samples: the data preprocessor (normalisation, padding) and
``predict`` (for mmseg the config's whole / slide inference and the resize back to
the image; for mmdet the box / mask post-processing) — the path a dataloader batch
takes in ``tools/test.py``. The shape is the image after the test pipeline. Each
number is the median of ``--repeats`` timed runs after ``--warmup`` untimed ones.
With random weights a detector's post-processing (score threshold, NMS, masks of
the kept boxes) handles a different number of boxes than a trained one would.

Examples::

    python tools/analysis_tools/benchmark.py \\
        mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py \\
    mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py \\
        --device cpu --shape 512 512 --batch-size 1 --warmup 1 --repeats 2
    python tools/analysis_tools/benchmark.py configs/demo/visionllama-tiny-p4_1xb64-\\
50e_demo-shapes.py --shape 32 32 --batch-size 64

Prints a Markdown table and writes JSON (``--out``).
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import DictAction

from visionllama_mm.utils import (build_model, config_name, describe_device, get_scope,
                                  load_config, make_batch, markdown_table, median_seconds,
                                  seg_test_mode)

HEADER = ('config', 'scope', 'test mode', 'shape', 'batch', 'images/s', 'ms/img')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files or scope::path')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=(512, 512),
        metavar=('H', 'W'),
        help='input image size (default 512 512)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every config, key=value')
    parser.add_argument('--out', default='work_dirs/benchmark.json')
    return parser.parse_args(argv)


def benchmark_config(path: str, args: argparse.Namespace) -> Dict:
    """Build one config's model and time its ``test_step``; one table row."""
    cfg = load_config(path, args.cfg_options)
    scope = get_scope(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, args.device)
    data = make_batch(scope, args.shape, args.batch_size)

    def step() -> None:
        with torch.no_grad():
            model.test_step(data)

    seconds = median_seconds(step, args.warmup, args.repeats, args.device)
    return dict(
        config=config_name(path),
        path=path,
        scope=scope,
        test_mode=seg_test_mode(cfg) if scope == 'mmseg' else '-',
        shape=list(args.shape),
        batch_size=args.batch_size,
        img_s=args.batch_size / seconds,
        ms_img=seconds * 1e3 / args.batch_size)


def format_row(row: Dict) -> List[str]:
    return [
        row['config'], row['scope'], row['test_mode'], 'x'.join(map(str, row['shape'])),
        str(row['batch_size']), f"{row['img_s']:.2f}", f"{row['ms_img']:.1f}"
    ]


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [benchmark_config(path, args) for path in args.configs]
    device = describe_device(args.device)
    print(f'\n{device}, torch {torch.__version__}, fp32, model.test_step '
          f'(preprocess + predict), median of {args.repeats} after '
          f'{args.warmup} warm-up\n')
    print(markdown_table(HEADER, [format_row(row) for row in rows]))
    result = dict(
        device=args.device,
        device_name=device,
        torch=torch.__version__,
        shape=list(args.shape),
        batch_size=args.batch_size,
        warmup=args.warmup,
        repeats=args.repeats,
        rows=rows)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
