"""Export a classifier, an encoder-decoder segmentor or a backbone to ONNX.

``CONFIG`` is any mmpretrain / mmseg config of this repository (or ``scope::path``);
``CHECKPOINT`` is loaded with mmengine's ``load_checkpoint``. What the graph computes:

* mmpretrain classifier: the logits ``(B, num_classes)`` (``mode='tensor'``);
* mmseg encoder-decoder: whole inference, the segmentation logits at the input size
  ``(B, num_classes, H, W)`` (``encode_decode``; argmax over dim 1 gives the labels);
* ``--part backbone`` (any config with a backbone): the backbone's outputs ``out0..``.

The input ``input`` is the normalised float tensor ``(B, 3, H, W)`` the config's data
preprocessor produces. Exporter: ``torch.onnx.export(..., dynamo=True)``; with
``--dynamic`` batch, height and width are symbolic (a branch on the input size that
would freeze the example size into the graph is an error). ``onnx.checker`` must pass.
Check the file with ``tools/deployment/verify_onnx.py``.

Example::

    python tools/deployment/pytorch2onnx.py \\
        configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py \\
        work_dirs/onnx_demo/epoch_2.pth --out work_dirs/onnx_demo/model.onnx \\
        --shape 32 32 --dynamic
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Optional

from visionllama_mm.apis.deploy import PARTS, detect_task, export_onnx, load_model
from visionllama_mm.utils import CfgOptionsAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or scope::path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=(224, 224),
        metavar=('H', 'W'),
        help='example input size (default 224 224)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='example batch (at least 2 with --dynamic)')
    parser.add_argument(
        '--dynamic', action='store_true', help='symbolic batch, height and width')
    parser.add_argument(
        '--part',
        choices=PARTS,
        default='model',
        help="'backbone' exports only the model's backbone")
    parser.add_argument(
        '--opset', type=int, default=None, help="ONNX opset (default: the exporter's)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='config overrides, key=value')
    args = parser.parse_args(argv)
    if min(args.shape) < 1 or args.batch_size < 1:
        parser.error(f'--shape and --batch-size must be positive, got {args.shape} '
                     f'and {args.batch_size}')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    model = load_model(args.config, args.checkpoint, args.part, args.cfg_options)
    task = detect_task(model)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    start = time.perf_counter()
    info = export_onnx(
        model,
        task,
        tuple(args.shape),
        args.out,
        dynamic=args.dynamic,
        batch_size=args.batch_size,
        opset_version=args.opset,
        metadata=dict(config=args.config, checkpoint=args.checkpoint, part=args.part))
    seconds = time.perf_counter() - start
    print(f'exported {task} ({type(model).__name__}) to {info["out"]}: opset '
          f'{info["opset"]}, {info["nodes"]} nodes, {info["size_mb"]:.2f} MiB, outputs '
          f'{info["outputs"]}, shape {args.shape[0]}x{args.shape[1]}, '
          f'{"dynamic batch/height/width" if args.dynamic else "static"}, '
          f'{info["rewrites"]} export-time rewrites, onnx.checker passed, '
          f'{seconds:.1f} s')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        # user errors (bad file, unsupported model, a size frozen into the graph)
        print(f'error: {exc}', file=sys.stderr)
        sys.exit(2)
