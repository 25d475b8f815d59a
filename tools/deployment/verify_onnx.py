"""Check an exported ONNX model against PyTorch in ONNX Runtime (CPU).

Runs the checkpoint in PyTorch and the ``.onnx`` file in ONNX Runtime on the same
seeded ``N(0, 1)`` inputs (normalised images) at the export size and at a second size
(default: about 1.25x, odd and no multiple of 7, so patch and window padding run),
prints the largest absolute and relative difference (max |ort - torch| over the
largest |torch|) and the median time of both, and exits with status 1 when an
absolute difference exceeds ``--atol`` (1e-4). A graph exported without
``--dynamic`` is checked at its one size only. The task, export size and part are
read from the file's metadata (written by ``pytorch2onnx.py``).

Example::

    python tools/deployment/verify_onnx.py \\
        configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py \\
        work_dirs/onnx_demo/epoch_2.pth work_dirs/onnx_demo/model.onnx
"""
import argparse
import sys
from typing import List, Optional

import torch
from mmengine.config import DictAction

from visionllama_mm.apis.deploy import (PARTS, load_model, onnx_session, parity_rows,
                                        read_export_metadata, second_shape,
                                        static_input_hw)
from visionllama_mm.utils import markdown_table

HEADER = ('input', 'max abs diff', 'max rel diff', 'PyTorch ms', 'ONNX Runtime ms',
          'within atol')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or scope::path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('onnx', help='the exported .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="first input size (default: the export size)")
    parser.add_argument(
        '--second-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='second input size (default: about 1.25x the first, odd '
        'and no multiple of 7)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest allowed absolute difference (default 1e-4)')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed runs per size (median)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='CPU threads of both (default: torch.get_num_threads())')
    parser.add_argument(
        '--part', choices=PARTS, default=None, help="default: the one stored at export")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='config overrides, key=value')
    args = parser.parse_args(argv)
    if args.atol <= 0 or args.repeats < 1 or args.batch_size < 1:
        parser.error('--atol must be > 0, --repeats and --batch-size >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    meta = read_export_metadata(args.onnx)
    if 'task' not in meta:
        print(
            f'{args.onnx} has no visionllama_mm metadata: export it with '
            'tools/deployment/pytorch2onnx.py',
            file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    part = args.part or meta.get('part', 'model')
    model = load_model(args.config, args.checkpoint, part, args.cfg_options)
    session = onnx_session(args.onnx, args.threads)
    first = tuple(args.shape or map(int, meta['export_shape'].split(',')))
    shapes = [first, tuple(args.second_shape or second_shape(first))]
    fixed = static_input_hw(session)
    if fixed is not None:
        print(f'the graph has a fixed input size {fixed[0]}x{fixed[1]} (exported '
              'without --dynamic): checking that size only')
        shapes = [fixed]
    batch = args.batch_size
    fixed_batch = session.get_inputs()[0].shape[0]
    if isinstance(fixed_batch, int) and fixed_batch != batch:
        batch = fixed_batch
    rows = parity_rows(
        model,
        meta['task'],
        session,
        shapes,
        batch_size=batch,
        repeats=args.repeats,
        atol=args.atol)
    print(f'{meta["task"]} {args.onnx} vs {args.checkpoint} (batch {batch}, '
          f'{torch.get_num_threads()} threads, atol {args.atol:g})')
    print(
        markdown_table(HEADER,
                       [(f'{r["shape"][0]}x{r["shape"][1]}', f'{r["max_abs"]:.2e}',
                         f'{r["max_rel"]:.2e}', f'{r["torch_ms"]:.1f}',
                         f'{r["ort_ms"]:.1f}', 'yes' if r['ok'] else 'NO')
                        for r in rows]))
    if not all(r['ok'] for r in rows):
        print(f'FAILED: a difference exceeds atol {args.atol:g}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        # user errors (bad file, unsupported model, a size frozen into the graph)
        print(f'error: {exc}', file=sys.stderr)
        sys.exit(2)
