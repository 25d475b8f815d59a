"""Throughput, parameters and FLOPs of a backbone beside mmpretrain's ViT of the same
size.

For every backbone: parameters, forward FLOPs per image (``torch.utils.flop_counter``,
a multiply-add counts 2), forward time (eval, no grad) and forward+backward time
(train mode, ``sum(outputs).backward()``). The models are timed **interleaved**:
after ``--warmup`` untimed runs of each, every one of ``--repeats`` repetitions runs
ours, then the reference (A B A B ...), so load from other processes on a shared
machine lands on both alike. Per model the table shows the median time (as img/s),
and per pair the median of the per-repetition time ratios ours / reference with
their spread (min-max). The reference is the implementation a user would otherwise
pick, with the same sizes:

- ``VisionLLaMA``: mmpretrain's ``VisionTransformer`` (same width, depth, heads and
  patch, MLP ratio 4), so the table shows what RoPE + SwiGLU cost against a plain ViT;
- ``PyramidVisionLLaMA``: mmseg's Twins ``SVT`` (same dims, depths, heads, windows and
  sr ratios, MLP ratio 4, with its conditional position encodings).

Examples::

    python tools/analysis_tools/benchmark_vs_mm.py --arch b --device cpu
    python tools/analysis_tools/benchmark_vs_mm.py --type PyramidVisionLLaMA --arch s
    python tools/analysis_tools/benchmark_vs_mm.py --config configs/visionllama/\
visionllama-b-p16_8xb256-300e_in1k.py --device cuda --amp --batch-size 64

Prints a Markdown table and writes JSON (``--out``) with the per-repetition times and
ratios.
"""
import argparse
import json
import os
import platform
import statistics
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

import visionllama_mm  # noqa: F401  (registers the backbones)
from visionllama_mm.utils import count_flops, interleaved_seconds, ratio_stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--config', help='a model config; its model.backbone is used')
    source.add_argument(
        '--arch',
        default=None,
        help='arch of --type (default: b for VisionLLaMA, s for '
        'PyramidVisionLLaMA)')
    parser.add_argument(
        '--type',
        default='VisionLLaMA',
        choices=('VisionLLaMA', 'PyramidVisionLLaMA'),
        help='backbone class when no --config is given')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--repeats',
        type=int,
        default=10,
        help='interleaved repetitions (each times every model once)')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    parser.add_argument(
        '--no-reference', action='store_true', help='skip the mmpretrain ViT reference')
    parser.add_argument('--out', default='work_dirs/benchmark_vs_mm.json')
    return parser.parse_args(argv)


def backbone_cfg(args: argparse.Namespace) -> Dict:
    if args.config:
        cfg = Config.fromfile(args.config).model.backbone.to_dict()
    else:
        default_arch = 'b' if args.type == 'VisionLLaMA' else 's'
        cfg = dict(type=args.type, arch=args.arch or default_arch)
    if cfg['type'] == 'VisionLLaMA':
        cfg.update(img_size=args.img_size)
        cfg.setdefault('out_type',
                       'cls_token' if cfg.get('with_cls_token', True) else 'avg_featmap')
    return cfg


def build_reference(model: torch.nn.Module, cfg: Dict) -> Tuple[str, torch.nn.Module]:
    """The upstream backbone of the same size: ``(name, module)``."""
    if cfg['type'] == 'PyramidVisionLLaMA':
        import mmseg.models  # noqa: F401  (registers SVT)
        from mmseg.registry import MODELS as SEG_MODELS

        # 'mmseg.SVT': mmpretrain has an SVT of its own with other arguments
        return 'mmseg Twins-SVT (same dims)', SEG_MODELS.build(
            dict(
                type='mmseg.SVT',
                embed_dims=model.embed_dims,
                depths=model.depths,
                num_heads=model.num_heads,
                windiow_sizes=model.window_sizes,
                sr_ratios=model.sr_ratios,
                mlp_ratios=[4] * model.num_stages,
                out_indices=model.out_indices,
                norm_after_stage=model.norm_after_stage))
    dims = model.embed_dims
    return 'mmpretrain VisionTransformer (same size)', PRETRAIN_MODELS.build(
        dict(
            type='mmpretrain.VisionTransformer',
            img_size=cfg['img_size'],
            patch_size=getattr(model, 'patch_size', 16),
            arch=dict(
                embed_dims=dims,
                num_layers=model.num_layers,
                num_heads=model.num_heads,
                feedforward_channels=4 * dims),
            out_type='cls_token'))


def _images(args: argparse.Namespace) -> torch.Tensor:
    return torch.randn(
        args.batch_size,
        3,
        args.img_size,
        args.img_size,
        device=torch.device(args.device))


def _autocast(args: argparse.Namespace):
    return (torch.autocast(args.device, dtype=torch.bfloat16)
            if args.amp else nullcontext())


def describe_model(name: str, model: torch.nn.Module, args: argparse.Namespace) -> Dict:
    """Parameters and forward GFLOPs of one image; moves the model to the device."""
    model.to(torch.device(args.device)).eval()
    with _autocast(args):
        flops = count_flops(model, _images(args)[:1])
    return dict(
        model=name,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
        gflops=flops / 1e9)


def step_functions(
        model: torch.nn.Module, images: torch.Tensor,
        args: argparse.Namespace) -> Tuple[Callable[[], None], Callable[[], None]]:
    """``(forward, forward_backward)`` of one batch; the model's mode is set by
    :func:`measure` before each phase."""

    def forward() -> None:
        with torch.no_grad(), _autocast(args):
            model(images)

    def forward_backward() -> None:
        with _autocast(args):
            outs = model(images)
        sum(o.float().sum() for o in outs).backward()
        model.zero_grad(set_to_none=True)

    return forward, forward_backward


def measure(models: Dict[str, torch.nn.Module],
            args: argparse.Namespace) -> Tuple[List[Dict], Dict[str, Dict]]:
    """Time every model interleaved; ``(rows, ratios)``.

    ``rows``: one per model (params, GFLOPs, median times and img/s, the
    per-repetition times); ``ratios``: the time of the first model over each other
    one, per repetition, for ``fwd`` and ``fwd_bwd`` (:func:`ratio_stats`).
    """
    rows = [describe_model(name, model, args) for name, model in models.items()]
    images = _images(args)
    steps = {name: step_functions(model, images, args) for name, model in models.items()}
    times = {}
    for phase, index, train in (('fwd', 0, False), ('fwd_bwd', 1, True)):
        for model in models.values():
            model.train(train)
        times[phase] = interleaved_seconds(
            {
                name: fns[index]
                for name, fns in steps.items()
            }, args.warmup, args.repeats, args.device)
    for row in rows:
        for phase in ('fwd', 'fwd_bwd'):
            series = times[phase][row['model']]
            row[f'{phase}_ms'] = statistics.median(series) * 1e3
            row[f'{phase}_img_s'] = args.batch_size / statistics.median(series)
            row[f'{phase}_rep_ms'] = [t * 1e3 for t in series]
    names = list(models)
    ratios = {
        f'{names[0]} / {other}': {
            phase: ratio_stats(times[phase][names[0]], times[phase][other])
            for phase in ('fwd', 'fwd_bwd')
        }
        for other in names[1:]
    }
    return rows, ratios


def _ratio_cell(stats: Dict) -> str:
    return f"{stats['median']:.2f}x ({stats['min']:.2f}-{stats['max']:.2f})"


def markdown(rows: List[Dict], ratios: Dict[str, Dict]) -> str:
    """Per-model table (median times) and per-pair ratio table (median, min-max)."""
    lines = [
        '| model | params (M) | GFLOPs/img | fwd img/s | fwd+bwd img/s | '
        'fwd ms (median) | fwd+bwd ms (median) |', '|---|---|---|---|---|---|---|'
    ]
    lines += [
        f"| {r['model']} | {r['params_m']:.1f} | {r['gflops']:.2f} | "
        f"{r['fwd_img_s']:.1f} | {r['fwd_bwd_img_s']:.1f} | {r['fwd_ms']:.1f} | "
        f"{r['fwd_bwd_ms']:.1f} |" for r in rows
    ]
    if ratios:
        lines += [
            '', '| time ratio (interleaved) | fwd: median (min-max) | '
            'fwd+bwd: median (min-max) |', '|---|---|---|'
        ]
        lines += [
            f"| {pair} | {_ratio_cell(s['fwd'])} | {_ratio_cell(s['fwd_bwd'])} |"
            for pair, s in ratios.items()
        ]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = backbone_cfg(args)
    torch.manual_seed(0)
    ours = PRETRAIN_MODELS.build(cfg)
    models = {f"{cfg['type']}({cfg.get('arch')})": ours}
    if not args.no_reference:
        ref_name, reference = build_reference(ours, cfg)
        models[ref_name] = reference
    rows, ratios = measure(models, args)
    device_name = (
        torch.cuda.get_device_name()
        if args.device == 'cuda' else f'{platform.processor() or platform.machine()}, '
        f'{torch.get_num_threads()} threads')
    print(f'\n{args.device} ({device_name}), torch {torch.__version__}, batch '
          f'{args.batch_size}, {args.img_size}x{args.img_size}, '
          f"{'bf16 autocast' if args.amp else 'fp32'}, {args.repeats} interleaved "
          f'repetitions after {args.warmup} warm-up: median time per model, median '
          'and min-max of the per-repetition time ratios\n')
    print(markdown(rows, ratios))
    result = dict(
        device=args.device,
        device_name=device_name,
        torch=torch.__version__,
        batch_size=args.batch_size,
        img_size=args.img_size,
        amp=args.amp,
        warmup=args.warmup,
        repeats=args.repeats,
        rows=rows,
        time_ratios=ratios)
    out_dir = os.path.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
