"""Train-step throughput, MFU and peak memory of our backbones beside timm's references.

One training step = forward + backward + optimizer step (AdamW; FactoredAdamW for the
ViT-G batch-256 memory check) of the backbone plus a 1000-way linear head (timm models
carry their own head), cross-entropy on random labels, bf16 autocast
(``--precision bf16``, the default) with fp32 weights. For every model (``--models``):

- ``img/s``: ``batch * steps / time`` over ``--steps`` timed steps after ``--warmup``
  (compilation happens in the warm-up), the device synchronised around the timing;
- ``TFLOP/step``: ``torch.utils.flop_counter.FlopCounterMode`` over one forward +
  backward of the eager model, recomputation under activation checkpointing included
  (a multiply-add counts 2); ``model TFLOP/step`` is ``3 x forward`` (no recompute);
- ``MFU``: ``TFLOP/step / step time / peak``, ``MFU (3xfwd)`` the same with the model
  FLOPs. The peak is ``--peak-tflops`` (default: 989.4, H100 SXM dense bf16) and the
  table also gives MFU against the bf16 matmul rate measured in the same run
  (8192^3 ``torch.mm``, ``--no-measure-peak`` skips it);
- ``peak mem``: ``torch.cuda.max_memory_allocated`` over the timed steps (GiB).

``--compile`` adds a ``torch.compile`` row for every model (``--modes compile`` alone
skips eager). A model that fails (out of memory, timm missing a name) is reported in
the table and the run goes on. Writes ``results.json`` and ``results.md`` to
``--out-dir``; the goals of the performance issue are checked at the end where both
rows were measured.

The GPU run needs torch, this package, mmengine, mmcv(-lite, no compiled ops) and
mmpretrain (and timm for the references); ``tools/misc/gpu_bench.sh`` installs carried
wheels and runs it as one command. Examples::

    python tools/analysis_tools/benchmark_backbone.py --device cuda --compile
    python tools/analysis_tools/benchmark_backbone.py --device cuda \\
        --models visionllama-b,timm-vit-b16 --batch-size 128
    python tools/analysis_tools/benchmark_backbone.py --device cpu --precision fp32 \\
        --models visionllama-tiny,timm-vit-tiny --steps 2 --warmup 1   # smoke
"""
import argparse
import json
import os
import platform
import time
import traceback
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

H100_BF16_DENSE_TFLOPS = 989.4
NUM_CLASSES = 1000

# name -> (source, build kwargs, default batch, image size, optimizer)
PRESETS: Dict[str, Tuple[str, Dict, int, int, str]] = {
    # ---- ours
    'visionllama-b': ('ours', dict(type='VisionLLaMA', arch='b', patch_size=16,
                                   out_type='cls_token'), 256, 224, 'adamw'),
    'visionllama-l': ('ours', dict(type='VisionLLaMA', arch='l', patch_size=16,
                                   out_type='cls_token'), 128, 224, 'adamw'),
    'pyramid-visionllama-b': ('ours', dict(type='PyramidVisionLLaMA', arch='b',
                                           out_indices=(3, ), out_type='avg_featmap'),
                              256, 224, 'adamw'),
    'aim-600m': ('ours', dict(type='AIM', arch='600m', patch_size=14,
                              out_type='avg_featmap'), 128, 224, 'adamw'),
    'vitg-G14': ('ours', dict(type='ViTG', arch='G', patch_size=14, out_type='map',
                              with_cp=True), 64, 224, 'adamw'),
    'vitg-G14-b256-factored': ('ours', dict(type='ViTG', arch='G', patch_size=14,
                                            out_type='map', with_cp=True),
                               256, 224, 'factored'),
    # ---- timm references
    'timm-vit-b16': ('timm', dict(model_name='vit_base_patch16_224'), 256, 224, 'adamw'),
    'timm-eva02-b14': ('timm', dict(model_name='eva02_base_patch14_224'), 256, 224,
                       'adamw'),
    'timm-vit-l16': ('timm', dict(model_name='vit_large_patch16_224'), 128, 224,
                     'adamw'),
    'timm-vit-g14': ('timm', dict(model_name='vit_giant_patch14_224'), 64, 224,
                     'adamw'),
    'timm-twins-svt-b': ('timm', dict(model_name='twins_svt_base'), 256, 224, 'adamw'),
    'timm-vit-G14': ('timm', dict(model_name='vit_gigantic_patch14_224',
                                  class_token=False, global_pool='map',
                                  grad_checkpointing=True), 64, 224, 'adamw'),
    # ---- tiny (CPU smoke tests; not in the default list)
    'visionllama-tiny': ('ours', dict(type='VisionLLaMA', arch=dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
        patch_size=8, out_type='cls_token'), 4, 32, 'adamw'),
    'pyramid-visionllama-tiny': ('ours', dict(type='PyramidVisionLLaMA', arch=dict(
        embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2]), window_sizes=4,
        sr_ratios=(2, 1), out_indices=(1, ), out_type='avg_featmap'), 4, 32, 'adamw'),
    'aim-tiny': ('ours', dict(type='AIM', arch=dict(embed_dims=64, num_layers=2,
                                                    num_heads=2),
                              patch_size=8, out_type='avg_featmap'), 4, 32, 'adamw'),
    'vitg-tiny': ('ours', dict(type='ViTG', arch=dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
        patch_size=8, out_type='map', with_cp=True), 4, 32, 'factored'),
    'timm-vit-tiny': ('timm', dict(model_name='vit_tiny_patch16_224', img_size=32,
                                   patch_size=8, depth=2), 4, 32, 'adamw'),
}
DEFAULT_MODELS = [name for name in PRESETS if 'tiny' not in name]

# (description, numerator row, denominator row or None, metric, threshold)
GOALS = [
    ('VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16', 'visionllama-b',
     'timm-vit-b16', 'img_s', 0.9, 'eager'),
    ('VisionLLaMA-B eager img/s >= 2x timm EVA02-B/14', 'visionllama-b',
     'timm-eva02-b14', 'img_s', 2.0, 'eager'),
    ('VisionLLaMA-B MFU >= 0.45 with torch.compile', 'visionllama-b', None, 'mfu',
     0.45, 'compile'),
    ('Pyramid VisionLLaMA-B eager img/s >= 1.5x timm Twins-SVT-B',
     'pyramid-visionllama-b', 'timm-twins-svt-b', 'img_s', 1.5, 'eager'),
    ('AIM-600M MFU >= 0.40 eager', 'aim-600m', None, 'mfu', 0.40, 'eager'),
    ('ViT-G/14 img/s >= 1.1x timm ViT-G/14 (batch 64, checkpointing)', 'vitg-G14',
     'timm-vit-G14', 'img_s', 1.1, 'eager'),
]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', default=','.join(DEFAULT_MODELS),
                        help=f'comma-separated presets: {", ".join(PRESETS)}')
    parser.add_argument('--batch-size', default=None,
                        help='one batch size for all models, or name=N,name=N')
    parser.add_argument('--img-size', type=int, default=None,
                        help='input size for all models (default: each preset\'s)')
    parser.add_argument('--device', default='cuda', choices=('cpu', 'cuda'))
    parser.add_argument('--precision', default='bf16', choices=('bf16', 'fp32'),
                        help='bf16 autocast (fp32 weights) or plain fp32')
    parser.add_argument('--modes', default='eager',
                        help='comma-separated: eager, compile')
    parser.add_argument('--compile', action='store_true',
                        help='shortcut for --modes eager,compile')
    parser.add_argument('--compile-mode', default=None,
                        help='torch.compile mode (e.g. max-autotune-no-cudagraphs)')
    parser.add_argument('--compile-backend', default='inductor',
                        help='torch.compile backend (aot_eager for quick CPU checks)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--peak-tflops', type=float, default=H100_BF16_DENSE_TFLOPS,
                        help='peak TFLOP/s for MFU (default: H100 SXM dense bf16)')
    parser.add_argument('--no-measure-peak', action='store_true',
                        help='skip measuring the matmul rate')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (CPU)')
    parser.add_argument('--out-dir', default='work_dirs/benchmark_backbone')
    args = parser.parse_args(argv)
    args.model_list = [m.strip() for m in args.models.split(',') if m.strip()]
    unknown = [m for m in args.model_list if m not in PRESETS]
    if unknown:
        parser.error(f'unknown model(s) {unknown}; choose from {list(PRESETS)}')
    args.mode_list = ['eager', 'compile'] if args.compile else \
        [m.strip() for m in args.modes.split(',') if m.strip()]
    if not set(args.mode_list) <= {'eager', 'compile'}:
        parser.error(f'--modes takes eager and/or compile, got {args.modes!r}')
    args.batch_sizes = _parse_batch_sizes(args.batch_size, parser)
    return args


def _parse_batch_sizes(value: Optional[str], parser) -> Dict[str, int]:
    if value is None:
        return {}
    if '=' not in value:
        return {'*': int(value)}
    sizes = {}
    for item in value.split(','):
        name, _, num = item.partition('=')
        if name not in PRESETS:
            parser.error(f'--batch-size: unknown model {name!r}')
        sizes[name] = int(num)
    return sizes


# --------------------------------------------------------------------------- models
class WithHead(nn.Module):
    """Backbone + 1000-way linear head on its pooled output."""

    def __init__(self, backbone: nn.Module, width: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(width, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone(x)[-1]
        if out.dim() == 3:
            out = out.mean(dim=1)
        elif out.dim() == 4:
            out = out.mean(dim=(2, 3))
        return self.head(out)


def build_model(name: str, img_size: int) -> nn.Module:
    source, kwargs, _, _, _ = PRESETS[name]
    kwargs = dict(kwargs)
    if source == 'timm':
        import timm
        grad_ckpt = kwargs.pop('grad_checkpointing', False)
        model_name = kwargs.pop('model_name')
        if 'img_size' not in kwargs and 'twins' not in model_name:
            kwargs['img_size'] = img_size
        model = timm.create_model(model_name, pretrained=False,
                                  num_classes=NUM_CLASSES, **kwargs)
        if grad_ckpt:
            model.set_grad_checkpointing(True)
        return model
    import visionllama_mm  # noqa: F401  (registers the backbones)
    from mmpretrain.registry import MODELS
    if kwargs['type'] in ('VisionLLaMA', 'AIM', 'ViTG'):
        kwargs.setdefault('img_size', img_size)
    backbone = MODELS.build(kwargs)
    backbone.init_weights()
    width = backbone.embed_dims
    width = width[-1] if isinstance(width, (list, tuple)) else width
    return WithHead(backbone, width)


def build_optimizer(model: nn.Module, kind: str, device: str) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if kind == 'factored':  # the memory-efficient optimizer of ViT-G
        from visionllama_mm.engine.optimizers import FactoredAdamW
        return FactoredAdamW(params, lr=1e-4, weight_decay=0.05,
                             momentum_dtype=torch.bfloat16)
    return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05,
                             fused=device == 'cuda')


# --------------------------------------------------------------------------- timing
def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def measure_matmul_tflops(device: str, precision: str) -> float:
    """Rate of a large square matmul (bf16 on CUDA), TFLOP/s."""
    n = 8192 if device == 'cuda' else 512
    dtype = torch.bfloat16 if (precision == 'bf16' and device == 'cuda') \
        else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.mm(a, b)
    _sync(device)
    reps = 20 if device == 'cuda' else 3
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    _sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e12


def _autocast(args):
    if args.precision == 'bf16':
        return torch.autocast(args.device, dtype=torch.bfloat16)
    return nullcontext()


def _loss(model, images, labels, args):
    with _autocast(args):
        logits = model(images)
    return F.cross_entropy(logits.float(), labels)


def count_flops(model: nn.Module, images, labels, args) -> Tuple[float, float]:
    """``(forward+backward FLOPs incl. recomputation, forward FLOPs)`` of one step."""
    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False) as counter:
        loss = _loss(model, images, labels, args)
        forward = counter.get_total_flops()
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops(), forward


def run_one(name: str, mode: str, args, peak_measured: Optional[float]) -> Dict:
    source, _, default_batch, default_size, optim_kind = PRESETS[name]
    batch = args.batch_sizes.get(name, args.batch_sizes.get('*', default_batch))
    size = args.img_size or default_size
    row = dict(model=name, source=source, mode=mode, batch_size=batch, img_size=size,
               optimizer=optim_kind)
    device = args.device
    model = optimizer = step_fn = None
    try:
        torch.manual_seed(0)
        model = build_model(name, size).to(device).train()
        row['params_m'] = sum(p.numel() for p in model.parameters()) / 1e6
        images = torch.randn(batch, 3, size, size, device=device)
        labels = torch.randint(0, NUM_CLASSES, (batch, ), device=device)
        flops, forward = count_flops(model, images, labels, args)
        row['tflop_per_step'] = flops / 1e12
        row['model_tflop_per_step'] = 3 * forward / 1e12
        runner = torch.compile(model, mode=args.compile_mode,
                               backend=args.compile_backend) \
            if mode == 'compile' else model
        optimizer = build_optimizer(model, optim_kind, device)

        def step_fn() -> None:
            _loss(runner, images, labels, args).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        start = time.perf_counter()
        for _ in range(args.warmup):
            step_fn()
        _sync(device)
        row['warmup_s'] = time.perf_counter() - start
        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            step_fn()
        _sync(device)
        seconds = (time.perf_counter() - start) / args.steps
        row['step_ms'] = seconds * 1e3
        row['img_s'] = batch / seconds
        row['mfu'] = flops / seconds / (args.peak_tflops * 1e12)
        row['mfu_model'] = 3 * forward / seconds / (args.peak_tflops * 1e12)
        if peak_measured:
            row['mfu_vs_measured'] = flops / seconds / (peak_measured * 1e12)
        if device == 'cuda':
            row['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2 ** 30
    except Exception as err:  # report and go on with the next model
        oom = 'out of memory' in str(err).lower()
        row['error'] = 'OOM' if oom else f'{type(err).__name__}: {str(err)[:200]}'
        if not oom:
            traceback.print_exc()
    finally:
        del model, optimizer, step_fn
        if device == 'cuda':
            torch.cuda.empty_cache()
        if mode == 'compile':
            torch._dynamo.reset()
    return row


# --------------------------------------------------------------------------- report
def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def markdown(rows: List[Dict], header: str, args) -> str:
    lines = [header, '',
             '| model | mode | batch | params (M) | img/s | step (ms) | TFLOP/step '
             '| MFU | MFU (3xfwd) | MFU vs measured peak | peak mem (GiB) |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['model']} | {r['mode']} | {r['batch_size']} | "
                         f"{_fmt(r.get('params_m'), '.1f')} | {r['error']} "
                         '| - | - | - | - | - | - |')
            continue
        lines.append(
            f"| {r['model']} | {r['mode']} | {r['batch_size']} | {r['params_m']:.1f} | "
            f"{r['img_s']:.1f} | {r['step_ms']:.1f} | {r['tflop_per_step']:.4g} | "
            f"{r['mfu']:.3g} | {r['mfu_model']:.3g} | "
            f"{_fmt(r.get('mfu_vs_measured'), '.3g')} | "
            f"{_fmt(r.get('peak_mem_gib'), '.1f')} |")
    goals = check_goals(rows)
    if goals:
        lines += ['', '| goal | measured | met |', '|---|---|---|']
        lines += [f'| {g} | {v:.3f} | {"yes" if ok else "no"} |' for g, v, ok in goals]
    return '\n'.join(lines)


def check_goals(rows: List[Dict]) -> List[Tuple[str, float, bool]]:
    found = {(r['model'], r['mode']): r for r in rows if 'error' not in r}
    out = []
    for text, num, den, metric, threshold, mode in GOALS:
        a = found.get((num, mode))
        b = found.get((den, mode)) if den else None
        if a is None or (den and b is None):
            continue
        value = a[metric] / b[metric] if den else a[metric]
        out.append((text, value, value >= threshold))
    return out


def describe(args, peak_measured: Optional[float]) -> str:
    if args.device == 'cuda':
        name = torch.cuda.get_device_name()
    else:
        name = f'{platform.processor() or platform.machine()}, ' \
               f'{torch.get_num_threads()} threads'
    peak = f', measured matmul peak {peak_measured:.4g} TFLOP/s' if peak_measured else ''
    return (f'{args.device} ({name}), torch {torch.__version__}, '
            f"{'bf16 autocast' if args.precision == 'bf16' else 'fp32'}, "
            f'{args.steps} timed steps after {args.warmup} warm-up, MFU against '
            f'{args.peak_tflops:g} TFLOP/s{peak}')


def main(argv: Optional[List[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: no CUDA device; use --device cpu')
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    peak = None if args.no_measure_peak else measure_matmul_tflops(args.device,
                                                                   args.precision)
    rows = []
    for name in args.model_list:
        for mode in args.mode_list:
            row = run_one(name, mode, args, peak)
            rows.append(row)
            print(json.dumps(row), flush=True)
    header = describe(args, peak)
    table = markdown(rows, header, args)
    print('\n' + table)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(setup=header, device=args.device,
                       device_name=header.split('(')[1].split(')')[0],
                       torch=torch.__version__, precision=args.precision,
                       peak_tflops=args.peak_tflops, measured_peak_tflops=peak,
                       rows=rows, goals=check_goals(rows)), f, indent=2)
    with open(os.path.join(args.out_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print(f'\nwrote {args.out_dir}/results.json and results.md')
    return rows


if __name__ == '__main__':
    main()
