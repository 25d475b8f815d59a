"""Speed of models on synthetic data, each timed interleaved with what it is compared to.

``--bench`` picks what one timed step is:

- ``e2e`` (MODELS: mmseg, mmdet or mmpretrain config files or OpenMMLab ``scope::path``
  strings): ``model.test_step(batch)`` under ``torch.no_grad()`` on ``--batch-size``
  uint8 ``--shape`` images (the image after the test pipeline) with the scope's data
  samples: the data preprocessor (normalisation, padding) and ``predict`` (mmseg: the
  config's whole / slide inference and the resize back; mmdet: the box / mask
  post-processing), the path a dataloader batch takes in ``tools/test.py``. With random
  weights a detector's post-processing handles another number of boxes than a trained
  one would. The configs are compared with the first one.
- ``forward`` (MODELS: presets or config files, whose ``model.backbone`` is used): the
  backbone's forward (eval, no grad) and forward+backward (train mode,
  ``sum(outputs).backward()``); parameters and forward FLOPs of one image.
- ``train`` (MODELS as ``forward``): a training step (forward, backward, AdamW step;
  FactoredAdamW where a preset names it) of the backbone plus a 1000-way linear head on
  its pooled output (timm models: their own head), cross-entropy on random labels;
  FLOPs per step (recomputation under activation checkpointing included; ``model
  TFLOP/step`` is 3 x forward), MFU against ``--peak-tflops`` (default: H100 SXM dense
  bf16) and against the bf16 matmul rate measured in the same run, peak memory (CUDA:
  over the model's build and warm-up, above what was allocated before).

``--ref`` adds, for each of our models, the reference it is compared with: ``mm``, the
upstream backbone of the same dims (mmpretrain's ``VisionTransformer`` with MLP ratio 4
beside a plain backbone, mmseg's Twins ``SVT`` beside one with per-stage ``sr_ratios``),
so the table shows what RoPE + SwiGLU cost; ``timm``, the timm models the preset names;
``none``. Defaults: ``forward`` mm, ``train`` timm.

Timing, the same for every bench: pretrained checkpoints are dropped (random weights;
the speed does not depend on them); each model is built and takes ``--warmup`` untimed
steps (compilation included), then every one of ``--repeats`` repetitions times
``--steps`` consecutive steps of each model of a comparison group (a model and its
references) in turn (A B A B ...), the device synchronised around each timed block, so
load from other processes lands on all of them alike. Per model the table gives the
median over the repetitions; per pair the median of the per-repetition ratios and their
spread (min-max): time ratio first / other (``e2e``, ``forward``) or img/s ratio model /
reference (``train``, where the goals of docs/benchmarks.md are checked). FLOPs:
``torch.utils.flop_counter.FlopCounterMode``, a multiply-add counts 2. ``--compile``
adds a ``torch.compile`` row per model (``forward``, ``train``). A model that fails
(out of memory, a missing package) is reported in the table and the run goes on.

Examples::

    python tools/analysis_tools/benchmark.py --bench e2e \\
        mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py \\
        configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py --repeats 2
    python tools/analysis_tools/benchmark.py --bench forward --ref mm \\
        visionllama-b pyramid-visionllama-s          # make benchmark
    python tools/analysis_tools/benchmark.py --bench train --ref timm --device cuda \\
        --compile                                     # tools/misc/gpu_bench.sh

Prints the tables and writes ``results.json`` (every repetition) and ``results.md`` to
``--out-dir``.
"""
import argparse
import importlib
import sys
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from torch import nn

from visionllama_mm.utils import (LaunchError, build_model, comparison_groups,
                                  config_name, count_flops, describe_device, flop_counter,
                                  get_scope, init_weights_quietly, load_config,
                                  make_batch, markdown_table, matmul_tflops,
                                  measure_groups, num_params, pair_ratios, ratios_table,
                                  resolve_config_path, rows_table, seg_test_mode,
                                  strip_pretrained, user_errors, write_json)

H100_BF16_DENSE_TFLOPS = 989.4
NUM_CLASSES = 1000
#: what an option left out means, per bench (forward / train: batch and shape of a
#: preset come from the preset unless given)
DEFAULTS = dict(
    e2e=dict(
        device='cpu', ref='none', precision='fp32', warmup=2, repeats=5, steps=1,
        batch=1),
    forward=dict(
        device='cpu', ref='mm', precision='fp32', warmup=2, repeats=10, steps=1, batch=8),
    train=dict(device='cuda', ref='timm', precision='bf16', warmup=3, repeats=5, steps=4))


def _ours(batch: int, model: Dict, timm: Tuple = (), optim='adamw', size=224) -> Dict:
    return dict(
        source='ours',
        model=model,
        scope='mmpretrain',
        batch=batch,
        size=size,
        optim=optim,
        timm=timm)


def _timm(batch: int, size=224, **model) -> Dict:
    return dict(
        source='timm', timm_model=model, batch=batch, size=size, optim='adamw', timm=())


# ours: the backbone config (an ``img_size`` key takes the run's size), train batch,
# timm references (--ref timm), optimizer, image size; timm: timm.create_model's
# arguments (``grad_checkpointing``: set_grad_checkpointing)
VLLAMA = dict(type='VisionLLaMA', img_size=224, patch_size=16, out_type='cls_token')
PYRAMID = dict(type='PyramidVisionLLaMA', out_indices=(3, ), out_type='avg_featmap')
AIM = dict(type='AIM', img_size=224, patch_size=14, out_type='avg_featmap')
VITG = dict(type='ViTG', img_size=224, patch_size=14, out_type='map', with_cp=True)
TINY = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
PRESETS: Dict[str, Dict] = {
    'visionllama-b':
    _ours(256, dict(VLLAMA, arch='b'), ('timm-vit-b16', 'timm-eva02-b14')),
    'visionllama-l':
    _ours(128, dict(VLLAMA, arch='l'), ('timm-vit-l16', )),
    'pyramid-visionllama-s':
    _ours(256, dict(type='PyramidVisionLLaMA', arch='s'), ('timm-twins-svt-s', )),
    'pyramid-visionllama-b':
    _ours(256, dict(PYRAMID, arch='b'), ('timm-twins-svt-b', )),
    'aim-600m':
    _ours(128, dict(AIM, arch='600m')),
    'vitg-G14':
    _ours(64, dict(VITG, arch='G'), ('timm-vit-G14', )),
    'vitg-G14-b256-factored':
    _ours(256, dict(VITG, arch='G'), optim='factored'),
    'timm-vit-b16':
    _timm(256, model_name='vit_base_patch16_224', img_size=224),
    'timm-eva02-b14':
    _timm(256, model_name='eva02_base_patch14_224', img_size=224),
    'timm-vit-l16':
    _timm(128, model_name='vit_large_patch16_224', img_size=224),
    'timm-vit-g14':
    _timm(64, model_name='vit_giant_patch14_224', img_size=224),
    'timm-twins-svt-s':
    _timm(256, model_name='twins_svt_small'),
    'timm-twins-svt-b':
    _timm(256, model_name='twins_svt_base'),
    'timm-vit-G14':
    _timm(
        64,
        model_name='vit_gigantic_patch14_224',
        img_size=224,
        class_token=False,
        global_pool='map',
        grad_checkpointing=True),
    # tiny: CPU smoke runs, in no default list
    'visionllama-tiny':
    _ours(
        4,
        dict(VLLAMA, arch=TINY, img_size=32, patch_size=8), ('timm-vit-tiny', ),
        size=32),
    'pyramid-visionllama-tiny':
    _ours(
        4,
        dict(
            PYRAMID,
            arch=dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2]),
            window_sizes=4,
            sr_ratios=(2, 1),
            out_indices=(1, )),
        size=32),
    'aim-tiny':
    _ours(
        4,
        dict(
            AIM,
            arch=dict(embed_dims=64, num_layers=2, num_heads=2),
            img_size=32,
            patch_size=8), ('timm-vit-tiny', ),
        size=32),
    'vitg-tiny':
    _ours(4, dict(VITG, arch=TINY, img_size=32, patch_size=8), optim='factored', size=32),
    'timm-vit-tiny':
    _timm(4, 32, model_name='vit_tiny_patch16_224', img_size=32, patch_size=8, depth=2),
}
DEFAULT_MODELS = dict(
    forward=['visionllama-b'],
    train=[
        'visionllama-b', 'visionllama-l', 'pyramid-visionllama-b', 'aim-600m', 'vitg-G14',
        'vitg-G14-b256-factored', 'timm-vit-b16', 'timm-eva02-b14', 'timm-vit-l16',
        'timm-vit-g14', 'timm-twins-svt-b', 'timm-vit-G14'
    ])
# (description, model, reference or None, metric, threshold, mode), --bench train
GOALS = [
    ('VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16', 'visionllama-b', 'timm-vit-b16',
     'train_img_s', 0.9, 'eager'),
    ('VisionLLaMA-B eager img/s >= 2x timm EVA02-B/14', 'visionllama-b', 'timm-eva02-b14',
     'train_img_s', 2.0, 'eager'),
    ('VisionLLaMA-B MFU >= 0.45 with torch.compile', 'visionllama-b', None, 'mfu', 0.45,
     'compile'),
    ('Pyramid VisionLLaMA-B eager img/s >= 1.5x timm Twins-SVT-B',
     'pyramid-visionllama-b', 'timm-twins-svt-b', 'train_img_s', 1.5, 'eager'),
    ('AIM-600M MFU >= 0.40 eager', 'aim-600m', None, 'mfu', 0.40, 'eager'),
    ('ViT-G/14 img/s >= 1.1x timm ViT-G/14 (batch 64, checkpointing)', 'vitg-G14',
     'timm-vit-G14', 'train_img_s', 1.1, 'eager'),
]
#: timed phases of one model per bench; their ratio: 'time' (first / other) or 'img_s'
PHASES = dict(e2e=('test', ), forward=('fwd', 'fwd_bwd'), train=('train', ))
RATIO = dict(e2e='time', forward='time', train='img_s')


# --------------------------------------------------------------------------- arguments
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'models',
        nargs='*',
        help='e2e: config files or scope::path; forward / train: presets '
        f'({", ".join(PRESETS)}) or config files (default: {DEFAULT_MODELS})')
    parser.add_argument('--bench', choices=tuple(DEFAULTS), default='e2e')
    parser.add_argument('--ref', choices=('mm', 'timm', 'none'), help=str(DEFAULTS))
    parser.add_argument('--device', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--precision', choices=('fp32', 'bf16'), help='bf16: autocast, fp32 weights')
    parser.add_argument(
        '--batch-size', help='one batch size for all models, or model=N,model=N')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input image size (e2e default 512 512; forward / train: the preset\'s)')
    parser.add_argument('--warmup', type=int)
    parser.add_argument('--repeats', type=int, help='interleaved repetitions')
    parser.add_argument('--steps', type=int, help='timed steps per model and repetition')
    parser.add_argument(
        '--modes', default='eager', help='comma-separated: eager, compile')
    parser.add_argument(
        '--compile', action='store_true', help='shortcut for --modes eager,compile')
    parser.add_argument('--compile-mode', help='torch.compile mode')
    parser.add_argument(
        '--compile-backend',
        help='torch.compile backend (default inductor; aot_eager '
        'for quick CPU checks)')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        help=f'train: peak TFLOP/s for MFU (default {H100_BF16_DENSE_TFLOPS}, H100 SXM '
        'dense bf16)')
    parser.add_argument(
        '--no-measure-peak',
        action='store_true',
        help='train: skip measuring the matmul rate')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads (CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every config, key=value')
    parser.add_argument('--out-dir', help='default: work_dirs/benchmark_<bench>')
    args = parser.parse_intermixed_args(argv)
    _resolve_defaults(args, parser)
    return args


def _resolve_defaults(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Per-bench defaults, then every option checked against the bench."""
    for key, value in DEFAULTS[args.bench].items():
        if key != 'batch' and getattr(args, key) is None:
            setattr(args, key, value)
    args.models = args.models or DEFAULT_MODELS.get(args.bench, [])
    if not args.models:
        parser.error(f'--bench {args.bench} needs config files')
    args.mode_list = ['eager', 'compile'] if args.compile else \
        [m.strip() for m in args.modes.split(',') if m.strip()]
    only = f'does not apply to --bench {args.bench}'
    wrong = {
        f'--ref {only}':
        args.bench == 'e2e' and args.ref != 'none',
        f'--compile / --modes compile {only}':
        args.bench == 'e2e' and 'compile' in args.mode_list,
        f'--peak-tflops {only}':
        args.bench != 'train' and args.peak_tflops is not None,
        f'--no-measure-peak {only}':
        args.bench != 'train' and args.no_measure_peak,
        '--compile-mode / --compile-backend need --compile or --modes compile':
        'compile' not in args.mode_list
        and bool(args.compile_mode or args.compile_backend)
    }
    for message, bad in wrong.items():
        if bad:
            parser.error(message)
    if not args.mode_list or not set(args.mode_list) <= {'eager', 'compile'}:
        parser.error(f'--modes takes eager and/or compile, got {args.modes!r}')
    if min(args.steps, args.repeats) < 1 or args.warmup < 0:
        parser.error('--steps and --repeats must be >= 1 and --warmup >= 0, got '
                     f'{args.steps}, {args.repeats}, {args.warmup}')
    args.size = tuple(args.shape) if args.shape else \
        (512, 512) if args.bench == 'e2e' else None
    args.peak_tflops = args.peak_tflops or H100_BF16_DENSE_TFLOPS
    args.compile_backend = args.compile_backend or 'inductor'
    args.out_dir = args.out_dir or f'work_dirs/benchmark_{args.bench}'
    for model in args.models:
        if args.bench == 'e2e' or model not in PRESETS:
            try:
                resolve_config_path(model)
            except (FileNotFoundError, LaunchError) as err:
                presets = '' if args.bench == 'e2e' else \
                    f'not a preset ({", ".join(PRESETS)}) and '
                parser.error(f'{model}: {presets}{err}')
    args.batch_sizes = {}
    for item in filter(None, (args.batch_size or '').split(',')):
        name, _, value = item.rpartition('=')
        if not value.isdigit() or int(value) < 1 or \
                name and name not in args.models and name not in PRESETS:
            parser.error(f'--batch-size: {item!r} is not N or MODEL=N (N >= 1, MODEL '
                         f'one of {args.models} or a preset)')
        args.batch_sizes[name or '*'] = int(value)


# --------------------------------------------------------------------------- models
def model_spec(name: str, args: argparse.Namespace) -> Dict:
    """A preset, or a config file's ``model.backbone`` (batch: its train batch)."""
    if name in PRESETS:
        return dict(PRESETS[name], name=name)
    cfg = load_config(name, args.cfg_options)
    strip_pretrained(cfg)
    backbone = cfg.model.get('backbone')
    if backbone is None:
        raise LaunchError(f'{name}: --bench {args.bench} times model.backbone, which '
                          'this config does not have; use --bench e2e')
    return dict(
        name=name,
        source='config',
        model=backbone.to_dict(),
        scope=get_scope(cfg),
        batch=cfg.get('train_dataloader', {}).get('batch_size', 1),
        size=backbone.get('img_size', 224),
        optim='adamw',
        timm=())


def add_references(specs: Dict[str, Dict], ref: str) -> Tuple[List, List[str]]:
    """Add the ``--ref`` reference of each of our models to ``specs``; returns the
    ``(model, reference)`` pairs and a note per model timed alone."""
    pairs, notes = [], []
    for name, spec in list(specs.items()):
        if spec['source'] not in ('ours', 'config') or ref == 'none':
            continue
        if ref == 'mm':
            refs = [mm_reference(spec)]
        else:
            refs = [dict(PRESETS[t], name=t) for t in spec['timm']]
        if not refs:
            notes.append(f'{name}: no {ref} reference, timed alone')
        for ref_spec in refs:
            specs.setdefault(ref_spec['name'], ref_spec)
            pairs.append((name, ref_spec['name']))
    return pairs, notes


def mm_reference(spec: Dict) -> Dict:
    """The upstream backbone of ``spec``'s dims (read from it built on the meta
    device): mmseg's Twins ``SVT`` beside a backbone with per-stage ``sr_ratios``,
    else mmpretrain's ``VisionTransformer`` (MLP ratio 4, class token output)."""
    with torch.device('meta'):
        ours = build_mm(spec['model'], spec['scope'])
    if hasattr(ours, 'sr_ratios'):
        name, scope = f"mmseg Twins-SVT ({spec['name']} dims)", 'mmseg'
        # 'mmseg.SVT': mmpretrain has an SVT of its own with other arguments
        model = dict(
            type='mmseg.SVT',
            embed_dims=ours.embed_dims,
            depths=ours.depths,
            num_heads=ours.num_heads,
            windiow_sizes=ours.window_sizes,
            sr_ratios=ours.sr_ratios,
            mlp_ratios=[4] * len(ours.depths),
            out_indices=ours.out_indices,
            norm_after_stage=ours.norm_after_stage)
    else:
        name, scope = f"mmpretrain ViT ({spec['name']} size)", 'mmpretrain'
        model = dict(
            type='mmpretrain.VisionTransformer',
            img_size=spec['size'],
            patch_size=ours.patch_size,
            arch=dict(
                embed_dims=ours.embed_dims,
                num_layers=ours.num_layers,
                num_heads=ours.num_heads,
                feedforward_channels=4 * ours.embed_dims),
            out_type='cls_token')
    return dict(
        spec,
        name=name,
        source='mm',
        model=model,
        scope=scope,
        timm=(),
        partner=spec['name'])


def build_mm(cfg: Dict, scope: str) -> nn.Module:
    """``cfg`` built from the ``scope`` registry (our classes registered)."""
    from mmengine.registry import DefaultScope

    import visionllama_mm  # noqa: F401  (registers the backbones)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


class WithHead(nn.Module):
    """Backbone + 1000-way linear head on its pooled last output."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.LazyLinear(NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone(x)[-1]
        if out.dim() > 2:  # (B, C, H, W) feature map or (B, N, C) tokens
            out = out.flatten(2).mean(2) if out.dim() == 4 else out.mean(1)
        return self.head(out)


def build_network(spec: Dict, size: Tuple[int, int], head: bool) -> nn.Module:
    """The model of ``spec`` at ``size``; with a classifier head for ``train``."""
    sized = {'img_size': size[0] if size[0] == size[1] else size}
    if 'timm_model' in spec:
        import timm
        kwargs = dict(spec['timm_model'])
        checkpointing = kwargs.pop('grad_checkpointing', False)
        if 'img_size' in kwargs:
            kwargs.update(sized)
        model = timm.create_model(
            pretrained=False, num_classes=NUM_CLASSES if head else 0, **kwargs)
        if checkpointing:
            model.set_grad_checkpointing(True)
        return model
    cfg = dict(spec['model'], **sized) if 'img_size' in spec['model'] else spec['model']
    backbone = build_mm(cfg, spec['scope'])
    init_weights_quietly(backbone)
    return WithHead(backbone) if head else backbone


def build_optimizer(model: nn.Module, kind: str, device: str) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if kind == 'factored':  # the memory-efficient optimizer of ViT-G
        from visionllama_mm.engine.optimizers import FactoredAdamW
        return FactoredAdamW(
            params, lr=1e-4, weight_decay=0.05, momentum_dtype=torch.bfloat16)
    return torch.optim.AdamW(
        params, lr=1e-4, weight_decay=0.05, fused=device.startswith('cuda'))


# --------------------------------------------------------------------------- steps
def _autocast(args: argparse.Namespace):
    if args.precision == 'bf16':
        return torch.autocast(args.device.split(':')[0], dtype=torch.bfloat16)
    return nullcontext()


def build_e2e(name: str, args: argparse.Namespace, specs: Dict) -> Tuple:
    """A config's model and batch; the step is ``model.test_step``."""
    cfg = load_config(name, args.cfg_options)
    scope, batch = get_scope(cfg), _batch(name, args, specs)
    model = build_model(cfg, args.device)
    data = make_batch(scope, args.size, batch)

    def test(runner: nn.Module) -> None:
        with torch.no_grad(), _autocast(args):
            runner.test_step(data)

    info = dict(
        config=config_name(name),
        scope=scope,
        test_mode=seg_test_mode(cfg) if scope == 'mmseg' else '-',
        batch_size=batch,
        shape=list(args.size))
    return info, model, dict(test=test)


def build_forward(name: str, args: argparse.Namespace, specs: Dict) -> Tuple:
    """A backbone; the steps are its forward and forward+backward."""
    size, batch = _size(name, args, specs), _batch(name, args, specs)
    model = build_network(specs[name], size, head=False).to(args.device)
    model.eval()  # (not chained: some backbones' train() returns None)
    images = torch.randn(batch, 3, *size, device=args.device)
    with _autocast(args):
        flops = count_flops(model, images[:1])

    def fwd(runner: nn.Module) -> None:
        model.eval()
        with torch.no_grad(), _autocast(args):
            runner(images)

    def fwd_bwd(runner: nn.Module) -> None:
        model.train()
        with _autocast(args):
            outs = runner(images)
        outs = outs if isinstance(outs, (tuple, list)) else (outs, )
        sum(o.float().sum() for o in outs).backward()
        model.zero_grad(set_to_none=True)

    info = dict(
        source=specs[name]['source'],
        batch_size=batch,
        shape=list(size),
        params_m=num_params(model) / 1e6,
        gflops=flops / 1e9)
    return info, model, dict(fwd=fwd, fwd_bwd=fwd_bwd)


def build_train(name: str, args: argparse.Namespace, specs: Dict) -> Tuple:
    """A classifier and its optimizer; the step is a training step."""
    spec, size, batch = specs[name], _size(name, args, specs), _batch(name, args, specs)
    model = build_network(spec, size, head=True).to(args.device)
    model.train()
    images = torch.randn(batch, 3, *size, device=args.device)
    labels = torch.randint(0, NUM_CLASSES, (batch, ), device=args.device)

    def loss(runner: nn.Module) -> torch.Tensor:
        with _autocast(args):
            logits = runner(images)
        return F.cross_entropy(logits.float(), labels)

    with flop_counter() as counter:  # materialises the lazy head first
        value = loss(model)
        forward = counter.get_total_flops()
        value.backward()
    model.zero_grad(set_to_none=True)
    optimizer = build_optimizer(model, spec['optim'], args.device)

    def train(runner: nn.Module) -> None:
        loss(runner).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    info = dict(
        source=spec['source'],
        batch_size=batch,
        shape=list(size),
        optimizer=spec['optim'],
        params_m=num_params(model) / 1e6,
        tflop_per_step=counter.get_total_flops() / 1e12,
        model_tflop_per_step=3 * forward / 1e12)
    return info, model, dict(train=train)


BUILDERS = dict(e2e=build_e2e, forward=build_forward, train=build_train)


def _size(name: str, args: argparse.Namespace, specs: Dict) -> Tuple[int, int]:
    """``--shape``, else the preset's / config's size (a reference: its model's)."""
    spec = specs[name]
    if args.size or 'partner' in spec:
        return args.size or _size(spec['partner'], args, specs)
    size = spec['size']
    return (size, size) if isinstance(size, int) else tuple(size)


def _batch(name: str, args: argparse.Namespace, specs: Dict) -> int:
    """``--batch-size`` for the model (or all), else a reference's model's batch,
    else the bench's default (e2e 1, forward 8) or the preset's / config's."""
    spec = specs[name]
    given = args.batch_sizes.get(name, args.batch_sizes.get('*'))
    if given is None and 'partner' in spec:
        return _batch(spec['partner'], args, specs)
    return given or DEFAULTS[args.bench].get('batch') or spec['batch']


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


# --------------------------------------------------------------------------- report
def _fmt(key: str, spec: str) -> Callable[[Dict], str]:
    return lambda row: format(row[key], spec)


def _shape(row: Dict) -> str:
    return 'x'.join(map(str, row['shape']))


MODEL = [('model', _fmt('model', 's')), ('mode', _fmt('mode', 's')),
         ('batch', _fmt('batch_size', 'd'))]
COLUMNS = dict(
    e2e=[('config', _fmt('config', 's')), ('scope', _fmt('scope', 's')),
         ('test mode', _fmt('test_mode', 's')), ('shape', _shape),
         ('batch', _fmt('batch_size', 'd')), ('images/s', _fmt('test_img_s', '.2f')),
         ('ms/img', lambda r: f"{r['test_ms'] / r['batch_size']:.1f}")],
    forward=MODEL + [('shape', _shape), ('params (M)', _fmt('params_m', '.1f')),
                     ('GFLOPs/img', _fmt('gflops', '.2f')),
                     ('fwd img/s', _fmt('fwd_img_s', '.1f')),
                     ('fwd+bwd img/s', _fmt('fwd_bwd_img_s', '.1f')),
                     ('fwd ms (median)', _fmt('fwd_ms', '.1f')),
                     ('fwd+bwd ms (median)', _fmt('fwd_bwd_ms', '.1f'))],
    train=MODEL + [('params (M)', _fmt('params_m', '.1f')),
                   ('img/s', _fmt('train_img_s', '.1f')),
                   ('step (ms)', _fmt('train_ms', '.1f')),
                   ('TFLOP/step', _fmt('tflop_per_step', '.4g')),
                   ('MFU', _fmt('mfu', '.3g')), ('MFU (3xfwd)', _fmt('mfu_model', '.3g')),
                   ('MFU vs measured peak', _fmt('mfu_vs_measured', '.3g')),
                   ('peak mem (GiB)', _fmt('peak_mem_gib', '.1f'))])


def add_mfu(rows: List[Dict], args: argparse.Namespace, peak: Optional[float]) -> None:
    """MFU of each timed train row: FLOPs per step (with recomputation; ``mfu_model``:
    3 x forward) / step time / ``--peak-tflops`` (``mfu_vs_measured``: / the measured
    matmul rate)."""
    for row in rows:
        if 'train_ms' in row:
            seconds = row['train_ms'] / 1e3
            row['mfu'] = row['tflop_per_step'] / seconds / args.peak_tflops
            row['mfu_model'] = row['model_tflop_per_step'] / seconds / args.peak_tflops
            if peak:
                row['mfu_vs_measured'] = row['tflop_per_step'] / seconds / peak


def describe(args: argparse.Namespace, peak: Optional[float]) -> str:
    step = dict(
        e2e='model.test_step (preprocess + predict)',
        forward='backbone forward (eval, no grad) and forward+backward',
        train='training step (forward, backward, optimizer step)')[args.bench]
    text = (f'{describe_device(args.device)}, torch {torch.__version__}, '
            f"{'bf16 autocast' if args.precision == 'bf16' else 'fp32'}, {step}: "
            f'median of {args.repeats} interleaved repetitions of {args.steps} step(s) '
            f'after {args.warmup} warm-up')
    if args.bench == 'train':
        text += f', MFU against {args.peak_tflops:g} TFLOP/s'
        text += f', measured matmul peak {peak:.4g} TFLOP/s' if peak else ''
    return text


def report(args: argparse.Namespace, rows: List[Dict], pairs: List[Dict],
           notes: List[str], peak: Optional[float]) -> Dict:
    """Print the tables; write ``results.json`` and ``results.md``."""
    goals = check_goals(rows, pairs) if args.bench == 'train' else []
    names = {r['model']: r.get('config', r['model']) for r in rows}
    parts = [describe(args, peak), *notes, rows_table(rows, COLUMNS[args.bench])]
    parts += [ratios_table(pairs, PHASES[args.bench], names)] if pairs else []
    parts += [
        markdown_table(
            ('goal', 'measured', 'met'), [(g, f'{v:.3f}', 'yes' if ok else 'no')
                                          for g, v, ok in goals])
    ] if goals else []
    table = '\n\n'.join(parts)
    print('\n' + table)
    result = dict(
        bench=args.bench,
        setup=parts[0],
        device=args.device,
        device_name=describe_device(args.device),
        torch=torch.__version__,
        precision=args.precision,
        warmup=args.warmup,
        repeats=args.repeats,
        steps=args.steps,
        rows=rows,
        pairs=pairs,
        notes=notes)
    if args.bench == 'train':
        result.update(
            peak_tflops=args.peak_tflops, measured_peak_tflops=peak, goals=goals)
    write_json(f'{args.out_dir}/results.json', result)
    with open(f'{args.out_dir}/results.md', 'w') as f:
        f.write(table + '\n')
    print(f'\nwrote {args.out_dir}/results.json and results.md')
    return result


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.device.startswith('cuda') and not torch.cuda.is_available():
            raise LaunchError(f'--device {args.device}: no CUDA device; use --device cpu')
        if args.bench == 'e2e':
            specs = dict.fromkeys(args.models, {})
            pairs, notes = [(args.models[0], m) for m in args.models[1:]], []
        else:
            specs = {name: model_spec(name, args) for name in args.models}
            pairs, notes = add_references(specs, args.ref)
        if args.bench == 'train' and args.device.startswith('cuda'):
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        peak = None if args.bench != 'train' or args.no_measure_peak else \
            matmul_tflops(args.device, args.precision == 'bf16')
        rows = measure_groups(
            comparison_groups(list(specs), pairs),
            lambda name: BUILDERS[args.bench](name, args, specs),
            PHASES[args.bench],
            args.mode_list,
            args.warmup,
            args.repeats,
            args.device,
            args.steps,
            compile_kwargs=dict(mode=args.compile_mode, backend=args.compile_backend))
    except user_errors() as err:
        sys.exit(f'benchmark.py: error: {err}')
    add_mfu(rows, args, peak)
    return report(args, rows,
                  pair_ratios(rows, pairs, PHASES[args.bench], RATIO[args.bench]), notes,
                  peak)


if __name__ == '__main__':
    main()
