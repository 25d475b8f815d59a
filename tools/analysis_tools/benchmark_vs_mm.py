"""Throughput, parameters and FLOPs of a backbone beside mmpretrain's ViT of the same size.

For every backbone: parameters, forward FLOPs per image (``torch.utils.flop_counter``,
a multiply-add counts 2), forward images/s (eval, no grad) and forward+backward
images/s (train mode, ``sum(outputs).backward()``), each the median of ``--repeats``
timed runs after ``--warmup`` untimed ones. The reference is the implementation a user
would otherwise pick, with the same sizes:

- ``VisionLLaMA``: mmpretrain's ``VisionTransformer`` (same width, depth, heads and
  patch, MLP ratio 4), so the table shows what RoPE + SwiGLU cost against a plain ViT;
- ``PyramidVisionLLaMA``: mmseg's Twins ``SVT`` (same dims, depths, heads, windows and
  sr ratios, MLP ratio 4, with its conditional position encodings).

Examples::

    python tools/analysis_tools/benchmark_vs_mm.py --arch b --device cpu
    python tools/analysis_tools/benchmark_vs_mm.py --type PyramidVisionLLaMA --arch s
    python tools/analysis_tools/benchmark_vs_mm.py --config configs/visionllama/\
visionllama-b-p16_8xb256-300e_in1k.py --device cuda --amp --batch-size 64

Prints a Markdown table and writes JSON (``--out``).
"""
import argparse
import json
import platform
from contextlib import nullcontext
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from torch.utils.flop_counter import FlopCounterMode

import visionllama_mm  # noqa: F401  (registers the backbones)
from visionllama_mm.apis import median_seconds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--config', help='a model config; its model.backbone is used')
    source.add_argument('--arch', default=None,
                        help='arch of --type (default: b for VisionLLaMA, s for '
                        'PyramidVisionLLaMA)')
    parser.add_argument('--type', default='VisionLLaMA',
                        choices=('VisionLLaMA', 'PyramidVisionLLaMA'),
                        help='backbone class when no --config is given')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (CPU)')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the mmpretrain ViT reference')
    parser.add_argument('--out', default='work_dirs/benchmark_vs_mm.json')
    return parser.parse_args()


def backbone_cfg(args: argparse.Namespace) -> Dict:
    if args.config:
        cfg = Config.fromfile(args.config).model.backbone.to_dict()
    else:
        default_arch = 'b' if args.type == 'VisionLLaMA' else 's'
        cfg = dict(type=args.type, arch=args.arch or default_arch)
    if cfg['type'] == 'VisionLLaMA':
        cfg.update(img_size=args.img_size)
        cfg.setdefault('out_type', 'cls_token' if cfg.get('with_cls_token', True)
                       else 'avg_featmap')
    return cfg


def build_reference(model: torch.nn.Module, cfg: Dict) -> Tuple[str, torch.nn.Module]:
    """The upstream backbone of the same size: ``(name, module)``."""
    if cfg['type'] == 'PyramidVisionLLaMA':
        from mmseg.registry import MODELS as SEG_MODELS
        import mmseg.models  # noqa: F401  (registers SVT)
        # 'mmseg.SVT': mmpretrain has an SVT of its own with other arguments
        return 'mmseg Twins-SVT (same dims)', SEG_MODELS.build(dict(
            type='mmseg.SVT', embed_dims=model.embed_dims, depths=model.depths,
            num_heads=model.num_heads, windiow_sizes=model.window_sizes,
            sr_ratios=model.sr_ratios, mlp_ratios=[4] * model.num_stages,
            out_indices=model.out_indices, norm_after_stage=model.norm_after_stage))
    dims = model.embed_dims
    return 'mmpretrain VisionTransformer (same size)', PRETRAIN_MODELS.build(dict(
        type='mmpretrain.VisionTransformer', img_size=cfg['img_size'],
        patch_size=getattr(model, 'patch_size', 16),
        arch=dict(embed_dims=dims, num_layers=model.num_layers,
                  num_heads=model.num_heads, feedforward_channels=4 * dims),
        out_type='cls_token'))


def measure(name: str, model: torch.nn.Module, args: argparse.Namespace) -> Dict:
    device = torch.device(args.device)
    model = model.to(device)
    images = torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=device)
    autocast = (torch.autocast(args.device, dtype=torch.bfloat16) if args.amp
                else nullcontext())
    params = sum(p.numel() for p in model.parameters())

    model.eval()
    with torch.no_grad(), autocast, FlopCounterMode(display=False) as counter:
        model(images[:1])
    flops = counter.get_total_flops()

    def forward() -> None:
        with torch.no_grad(), autocast:
            model(images)

    def forward_backward() -> None:
        with autocast:
            outs = model(images)
        sum(o.float().sum() for o in outs).backward()

    fwd = median_seconds(forward, args.warmup, args.repeats, args.device)
    model.train()
    fwd_bwd = median_seconds(forward_backward, args.warmup, args.repeats, args.device)
    model.zero_grad(set_to_none=True)
    return dict(model=name, params_m=params / 1e6, gflops=flops / 1e9,
                fwd_img_s=args.batch_size / fwd, fwd_bwd_img_s=args.batch_size / fwd_bwd,
                fwd_ms=fwd * 1e3, fwd_bwd_ms=fwd_bwd * 1e3)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = backbone_cfg(args)
    torch.manual_seed(0)
    ours = PRETRAIN_MODELS.build(cfg)
    name = f"{cfg['type']}({cfg.get('arch')})"
    rows = [measure(name, ours, args)]
    if not args.no_reference:
        rows.append(measure(*build_reference(ours, cfg), args))
        rows[0]['fwd_bwd_time_vs_ref'] = rows[0]['fwd_bwd_ms'] / rows[1]['fwd_bwd_ms']
        rows[0]['fwd_time_vs_ref'] = rows[0]['fwd_ms'] / rows[1]['fwd_ms']
    device_name = (torch.cuda.get_device_name() if args.device == 'cuda'
                   else f'{platform.processor() or platform.machine()}, '
                   f'{torch.get_num_threads()} threads')
    print(f'\n{args.device} ({device_name}), torch {torch.__version__}, batch '
          f'{args.batch_size}, {args.img_size}x{args.img_size}, '
          f"{'bf16 autocast' if args.amp else 'fp32'}, median of {args.repeats}\n")
    print('| model | params (M) | GFLOPs/img | fwd img/s | fwd+bwd img/s | '
          'fwd time vs ref | fwd+bwd time vs ref |')
    print('|---|---|---|---|---|---|---|')
    for row in rows:
        ratios = [row.get(k, 1.0 if row is not rows[0] else None)
                  for k in ('fwd_time_vs_ref', 'fwd_bwd_time_vs_ref')]
        shown = ['-' if r is None else f'{r:.2f}x' for r in ratios]
        print(f"| {row['model']} | {row['params_m']:.1f} | {row['gflops']:.2f} | "
              f"{row['fwd_img_s']:.1f} | {row['fwd_bwd_img_s']:.1f} | "
              f'{shown[0]} | {shown[1]} |')
    with open(args.out, 'w') as f:
        json.dump(dict(device=args.device, device_name=device_name,
                       torch=torch.__version__, batch_size=args.batch_size,
                       img_size=args.img_size, amp=args.amp, rows=rows), f, indent=2)
    print(f'\nwrote {args.out}')


if __name__ == '__main__':
    main()
