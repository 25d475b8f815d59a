"""Train-step throughput, MFU and peak memory of our backbones beside timm's references.

One training step = forward + backward + optimizer step (AdamW; FactoredAdamW for the
ViT-G batch-256 memory check) of the backbone plus a 1000-way linear head (timm models
carry their own head), cross-entropy on random labels, bf16 autocast
(``--precision bf16``, the default) with fp32 weights. For every model (``--models``):

- ``img/s``: ``batch / step time``, the step time being the median over ``--repeats``
  repetitions of ``--steps`` timed steps each, after ``--warmup`` untimed steps
  (compilation happens in the warm-up), the device synchronised around each timed
  block. The models compared by a goal (``--pairs``, default: the goals' pairs) are
  built together and timed **interleaved** (A B A B ... per repetition), so load from
  other processes lands on both; for each pair the table gives the median of the
  per-repetition img/s ratios and their spread (min-max), and the goals use it;
- ``TFLOP/step``: ``torch.utils.flop_counter.FlopCounterMode`` over one forward +
  backward of the eager model, recomputation under activation checkpointing included
  (a multiply-add counts 2); ``model TFLOP/step`` is ``3 x forward`` (no recompute);
- ``MFU``: ``TFLOP/step / step time / peak``, ``MFU (3xfwd)`` the same with the model
  FLOPs. The peak is ``--peak-tflops`` (default: 989.4, H100 SXM dense bf16) and the
  table also gives MFU against the bf16 matmul rate measured in the same run
  (8192^3 ``torch.mm``, ``--no-measure-peak`` skips it);
- ``peak mem``: ``torch.cuda.max_memory_allocated`` over the model's build and
  warm-up steps, less what was allocated before it was built (the other models of
  its pair), in GiB.

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
import gc
import json
import os
import platform
import statistics
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
    'visionllama-b':
    ('ours', dict(type='VisionLLaMA', arch='b', patch_size=16,
                  out_type='cls_token'), 256, 224, 'adamw'),
    'visionllama-l':
    ('ours', dict(type='VisionLLaMA', arch='l', patch_size=16,
                  out_type='cls_token'), 128, 224, 'adamw'),
    'pyramid-visionllama-b':
    ('ours',
     dict(type='PyramidVisionLLaMA', arch='b', out_indices=(3, ),
          out_type='avg_featmap'), 256, 224, 'adamw'),
    'aim-600m': ('ours',
                 dict(type='AIM', arch='600m', patch_size=14,
                      out_type='avg_featmap'), 128, 224, 'adamw'),
    'vitg-G14': ('ours',
                 dict(type='ViTG', arch='G', patch_size=14, out_type='map',
                      with_cp=True), 64, 224, 'adamw'),
    'vitg-G14-b256-factored':
    ('ours', dict(type='ViTG', arch='G', patch_size=14, out_type='map',
                  with_cp=True), 256, 224, 'factored'),
    # ---- timm references
    'timm-vit-b16': ('timm', dict(model_name='vit_base_patch16_224'), 256, 224, 'adamw'),
    'timm-eva02-b14': ('timm', dict(model_name='eva02_base_patch14_224'), 256, 224,
                       'adamw'),
    'timm-vit-l16': ('timm', dict(model_name='vit_large_patch16_224'), 128, 224, 'adamw'),
    'timm-vit-g14': ('timm', dict(model_name='vit_giant_patch14_224'), 64, 224, 'adamw'),
    'timm-twins-svt-b': ('timm', dict(model_name='twins_svt_base'), 256, 224, 'adamw'),
    'timm-vit-G14': ('timm',
                     dict(
                         model_name='vit_gigantic_patch14_224',
                         class_token=False,
                         global_pool='map',
                         grad_checkpointing=True), 64, 224, 'adamw'),
    # ---- tiny (CPU smoke tests; not in the default list)
    'visionllama-tiny':
    ('ours',
     dict(
         type='VisionLLaMA',
         arch=dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
         patch_size=8,
         out_type='cls_token'), 4, 32, 'adamw'),
    'pyramid-visionllama-tiny':
    ('ours',
     dict(
         type='PyramidVisionLLaMA',
         arch=dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2]),
         window_sizes=4,
         sr_ratios=(2, 1),
         out_indices=(1, ),
         out_type='avg_featmap'), 4, 32, 'adamw'),
    'aim-tiny': ('ours',
                 dict(
                     type='AIM',
                     arch=dict(embed_dims=64, num_layers=2, num_heads=2),
                     patch_size=8,
                     out_type='avg_featmap'), 4, 32, 'adamw'),
    'vitg-tiny':
    ('ours',
     dict(
         type='ViTG',
         arch=dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
         patch_size=8,
         out_type='map',
         with_cp=True), 4, 32, 'factored'),
    'timm-vit-tiny':
    ('timm', dict(model_name='vit_tiny_patch16_224', img_size=32, patch_size=8,
                  depth=2), 4, 32, 'adamw'),
}
DEFAULT_MODELS = [name for name in PRESETS if 'tiny' not in name]

# (description, numerator row, denominator row or None, metric, threshold)
GOALS = [
    ('VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16', 'visionllama-b', 'timm-vit-b16',
     'img_s', 0.9, 'eager'),
    ('VisionLLaMA-B eager img/s >= 2x timm EVA02-B/14', 'visionllama-b', 'timm-eva02-b14',
     'img_s', 2.0, 'eager'),
    ('VisionLLaMA-B MFU >= 0.45 with torch.compile', 'visionllama-b', None, 'mfu', 0.45,
     'compile'),
    ('Pyramid VisionLLaMA-B eager img/s >= 1.5x timm Twins-SVT-B',
     'pyramid-visionllama-b', 'timm-twins-svt-b', 'img_s', 1.5, 'eager'),
    ('AIM-600M MFU >= 0.40 eager', 'aim-600m', None, 'mfu', 0.40, 'eager'),
    ('ViT-G/14 img/s >= 1.1x timm ViT-G/14 (batch 64, checkpointing)', 'vitg-G14',
     'timm-vit-G14', 'img_s', 1.1, 'eager'),
]
DEFAULT_PAIRS = list(dict.fromkeys((num, den) for _, num, den, *_ in GOALS if den))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--models',
        default=','.join(DEFAULT_MODELS),
        help=f'comma-separated presets: {", ".join(PRESETS)}')
    parser.add_argument(
        '--batch-size',
        default=None,
        help='one batch size for all models, or name=N,name=N')
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='input size for all models (default: each preset\'s)')
    parser.add_argument('--device', default='cuda', choices=('cpu', 'cuda'))
    parser.add_argument(
        '--precision',
        default='bf16',
        choices=('bf16', 'fp32'),
        help='bf16 autocast (fp32 weights) or plain fp32')
    parser.add_argument(
        '--modes', default='eager', help='comma-separated: eager, compile')
    parser.add_argument(
        '--compile', action='store_true', help='shortcut for --modes eager,compile')
    parser.add_argument(
        '--compile-mode',
        default=None,
        help='torch.compile mode (e.g. max-autotune-no-cudagraphs)')
    parser.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend (aot_eager for quick CPU checks)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--steps', type=int, default=4, help='timed steps per model in each repetition')
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='interleaved repetitions (median and spread over them)')
    parser.add_argument(
        '--pairs',
        default=None,
        help='comma-separated A:B pairs timed interleaved, img/s '
        'ratio A/B (default: the pairs of the goals; \'\' times '
        'every model alone, e.g. when two do not fit in memory)')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        default=H100_BF16_DENSE_TFLOPS,
        help='peak TFLOP/s for MFU (default: H100 SXM dense bf16)')
    parser.add_argument(
        '--no-measure-peak', action='store_true', help='skip measuring the matmul rate')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
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
    args.pair_list = _parse_pairs(args.pairs, args.model_list, parser)
    if args.steps < 1 or args.repeats < 1:
        parser.error(f'--steps and --repeats must be >= 1, got {args.steps}, '
                     f'{args.repeats}')
    return args


def _parse_pairs(value: Optional[str], models: List[str],
                 parser) -> List[Tuple[str, str]]:
    """``A:B`` pairs of ``--pairs`` (both must be in ``--models``), or the goals'
    pairs among ``--models``."""
    if value is None:
        return [p for p in DEFAULT_PAIRS if p[0] in models and p[1] in models]
    if not value.strip():
        return []
    pairs = []
    for item in value.split(','):
        a, sep, b = item.strip().partition(':')
        if not sep or a not in models or b not in models or a == b:
            parser.error(f'--pairs: {item!r} is not A:B of two different models of '
                         f'--models {models}')
        pairs.append((a, b))
    return pairs


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
        model = timm.create_model(
            model_name, pretrained=False, num_classes=NUM_CLASSES, **kwargs)
        if grad_ckpt:
            model.set_grad_checkpointing(True)
        return model
    from mmpretrain.registry import MODELS

    import visionllama_mm  # noqa: F401  (registers the backbones)
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
        return FactoredAdamW(
            params, lr=1e-4, weight_decay=0.05, momentum_dtype=torch.bfloat16)
    return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05, fused=device == 'cuda')


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
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


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


def comparison_groups(models: List[str], pairs: List[Tuple[str, str]]) -> List[List[str]]:
    """Models linked by pairs (directly or through a shared model) form one group,
    timed interleaved; a model in no pair is a group of its own. Order of
    ``models``."""
    group_of = {m: {m} for m in models}
    for a, b in pairs:
        merged = group_of[a] | group_of[b]
        for m in merged:
            group_of[m] = merged
    groups: List[List[str]] = []
    for m in models:
        if not any(m in g for g in groups):
            groups.append([n for n in models if n in group_of[m]])
    return groups


def prepare(name: str, args) -> Tuple[List[Dict], Dict[str, Callable[[], None]]]:
    """Build one model, count its FLOPs, warm up each mode: ``(rows, steps)``.

    One row per mode of ``--modes``; ``steps[mode]`` is one training step of that mode
    (eager, or ``torch.compile`` of the same model, so both share the weights and the
    optimizer). A failing mode gets ``row['error']`` and no step. A row's peak memory
    is that of its warm-up above what was allocated before the model was built.
    """
    source, _, default_batch, default_size, optim_kind = PRESETS[name]
    batch = args.batch_sizes.get(name, args.batch_sizes.get('*', default_batch))
    size = args.img_size or default_size
    rows = [
        dict(
            model=name,
            source=source,
            mode=mode,
            batch_size=batch,
            img_size=size,
            optimizer=optim_kind) for mode in args.mode_list
    ]
    device = args.device
    steps: Dict[str, Callable[[], None]] = {}
    try:
        _sync(device)
        base = torch.cuda.memory_allocated() if device == 'cuda' else 0
        torch.manual_seed(0)
        model = build_model(name, size).to(device).train()
        images = torch.randn(batch, 3, size, size, device=device)
        labels = torch.randint(0, NUM_CLASSES, (batch, ), device=device)
        flops, forward = count_flops(model, images, labels, args)
        optimizer = build_optimizer(model, optim_kind, device)
    except Exception as err:  # report and go on with the next model
        for row in rows:
            _record_error(row, err)
        return rows, steps
    for row in rows:
        row['params_m'] = sum(p.numel() for p in model.parameters()) / 1e6
        row['tflop_per_step'] = flops / 1e12
        row['model_tflop_per_step'] = 3 * forward / 1e12
        runner = torch.compile(model, mode=args.compile_mode,
                               backend=args.compile_backend) \
            if row['mode'] == 'compile' else model

        def step(runner=runner) -> None:
            _loss(runner, images, labels, args).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        try:
            if device == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            for _ in range(args.warmup):
                step()
            _sync(device)
            row['warmup_s'] = time.perf_counter() - start
            if device == 'cuda':
                row['peak_mem_gib'] = (torch.cuda.max_memory_allocated() - base) / 2**30
            steps[row['mode']] = step
        except Exception as err:  # e.g. OOM in one mode
            optimizer.zero_grad(set_to_none=True)
            _record_error(row, err)
    return rows, steps


def _record_error(row: Dict, err: Exception) -> None:
    oom = 'out of memory' in str(err).lower()
    row['error'] = 'OOM' if oom else f'{type(err).__name__}: {str(err)[:200]}'
    if not oom:
        traceback.print_exc()


def run_group(names: List[str], args, peak_measured: Optional[float]) -> List[Dict]:
    """Prepare every (model, mode) of a group, then time them interleaved."""
    from visionllama_mm.utils import interleaved_seconds
    rows, steps = [], {}
    for name in names:
        model_rows, model_steps = prepare(name, args)
        rows += model_rows
        steps.update({(name, mode): step for mode, step in model_steps.items()})
    try:
        times = interleaved_seconds(steps, 0, args.repeats, args.device, args.steps) \
            if steps else {}
    except Exception as err:  # e.g. OOM once several models are resident
        for row in rows:
            if 'error' not in row:
                _record_error(row, err)
        times = {}
    for row in rows:
        series = times.get((row['model'], row['mode']))
        if series is None:
            row.setdefault('error', 'not timed')
            continue
        seconds = statistics.median(series)
        flops = row['tflop_per_step'] * 1e12
        row['rep_step_ms'] = [t * 1e3 for t in series]
        row['step_ms'] = seconds * 1e3
        row['img_s'] = row['batch_size'] / seconds
        row['mfu'] = flops / seconds / (args.peak_tflops * 1e12)
        row['mfu_model'] = row['model_tflop_per_step'] * 1e12 / seconds / (
            args.peak_tflops * 1e12)
        if peak_measured:
            row['mfu_vs_measured'] = flops / seconds / (peak_measured * 1e12)
    steps = model_steps = None  # free the models before the next group
    gc.collect()
    if args.device == 'cuda':
        torch.cuda.empty_cache()
    if 'compile' in args.mode_list:
        torch._dynamo.reset()
    return rows


def pair_ratios(rows: List[Dict], pairs: List[Tuple[str, str]]) -> List[Dict]:
    """img/s of A over B per repetition (= B's step time / A's), per mode: median and
    min-max (:func:`visionllama_mm.utils.ratio_stats`)."""
    from visionllama_mm.utils import ratio_stats
    found = {(r['model'], r['mode']): r for r in rows if 'error' not in r}
    out = []
    for a, b in pairs:
        for mode in dict.fromkeys(r['mode'] for r in rows):
            ra, rb = found.get((a, mode)), found.get((b, mode))
            if ra is None or rb is None:
                continue
            # img/s ratio of one repetition: (batch_a / t_a) / (batch_b / t_b)
            stats = ratio_stats([ra['batch_size'] * t for t in rb['rep_step_ms']],
                                [rb['batch_size'] * t for t in ra['rep_step_ms']])
            out.append(dict(a=a, b=b, mode=mode, metric='img_s', **stats))
    return out


# --------------------------------------------------------------------------- report
def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def markdown(rows: List[Dict], header: str, pairs: List[Dict]) -> str:
    lines = [
        header, '',
        '| model | mode | batch | params (M) | img/s | step (ms) | TFLOP/step '
        '| MFU | MFU (3xfwd) | MFU vs measured peak | peak mem (GiB) |',
        '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
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
    if pairs:
        lines += [
            '', '| img/s ratio (interleaved) | mode | median | min-max |',
            '|---|---|---|---|'
        ]
        lines += [
            f"| {p['a']} / {p['b']} | {p['mode']} | {p['median']:.3f} | "
            f"{p['min']:.3f}-{p['max']:.3f} |" for p in pairs
        ]
    goals = check_goals(rows, pairs)
    if goals:
        lines += ['', '| goal | measured | met |', '|---|---|---|']
        lines += [f'| {g} | {v:.3f} | {"yes" if ok else "no"} |' for g, v, ok in goals]
    return '\n'.join(lines)


def check_goals(rows: List[Dict],
                pairs: Optional[List[Dict]] = None) -> List[Tuple[str, float, bool]]:
    """``(goal, value, met)`` of every goal whose rows were measured; a ratio is the
    median interleaved ratio of ``pairs`` where the pair was timed, else the ratio of
    the two rows' medians."""
    found = {(r['model'], r['mode']): r for r in rows if 'error' not in r}
    medians = {(p['a'], p['b'], p['mode'], p['metric']): p['median'] for p in pairs or []}
    out = []
    for text, num, den, metric, threshold, mode in GOALS:
        a = found.get((num, mode))
        b = found.get((den, mode)) if den else None
        if a is None or (den and b is None):
            continue
        value = a[metric] / b[metric] if den else a[metric]
        value = medians.get((num, den, mode, metric), value)
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
            f'median of {args.repeats} interleaved repetitions of {args.steps} '
            f'steps after {args.warmup} warm-up, MFU against '
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
    peak = None if args.no_measure_peak else measure_matmul_tflops(
        args.device, args.precision)
    rows = []
    for group in comparison_groups(args.model_list, args.pair_list):
        for row in run_group(group, args, peak):
            rows.append(row)
            print(json.dumps(row), flush=True)
    pairs = pair_ratios(rows, args.pair_list)
    header = describe(args, peak)
    table = markdown(rows, header, pairs)
    print('\n' + table)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                setup=header,
                device=args.device,
                device_name=header.split('(')[1].split(')')[0],
                torch=torch.__version__,
                precision=args.precision,
                peak_tflops=args.peak_tflops,
                measured_peak_tflops=peak,
                steps=args.steps,
                repeats=args.repeats,
                warmup=args.warmup,
                rows=rows,
                pairs=pairs,
                goals=check_goals(rows, pairs)),
            f,
            indent=2)
    with open(os.path.join(args.out_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print(f'\nwrote {args.out_dir}/results.json and results.md')
    return rows


if __name__ == '__main__':
    main()
