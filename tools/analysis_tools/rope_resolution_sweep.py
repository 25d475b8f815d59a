"""Top-1 accuracy of a VisionLLaMA classifier across input resolutions and RoPE variants.

The study of the VisionLLaMA paper's Table 12: one trained checkpoint, evaluated with
the config's val dataloader and evaluator at several input sizes (``--sizes``), once
per RoPE variant (``--rope-types``), without retraining. A variant overrides
``model.backbone``:

- ``1d`` / ``2d`` / ``as2d`` / ``ntk``: ``rope_type``;
- ``ntk:A``: ``rope_type='ntk'`` and ``ntk_alpha=A``.

``as2d`` (AS2DRoPE) is anchored at ``rope_anchor``, by default the backbone's
``img_size // patch_size``, so ``img_size`` is left as trained: only the data changes
size (VisionLLaMA runs at any input size). A variant other than the one the checkpoint
was trained with rotates queries and keys differently, so its accuracy differs even
at the training size.

The val pipeline is resized to each size ``S``: ``CenterCrop.crop_size`` and
``RandomResizedCrop.scale`` become ``S``; the ``scale`` of ``Resize`` / ``ResizeEdge``
becomes ``S`` too, or, when the pipeline also crops, is scaled by ``S / crop`` so the
config's resize-to-crop ratio is kept (``ResizeEdge(256)`` + ``CenterCrop(224)``
becomes ``ResizeEdge(366)`` + ``CenterCrop(320)`` at 320; the trained size gives the
config's own evaluation). A pipeline without any resize or crop step (the demo's 32 px
images) gets ``Resize(scale=(S, S))`` after ``LoadImageFromFile``.

Each (variant, size) builds an mmengine ``Runner`` (``load_from`` = the checkpoint,
``work_dir`` under ``--out-dir/runs``) and calls ``runner.val()``.

Example (the demo classifier, trained for a few epochs)::

    python tools/train.py configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py \\
        --work-dir /tmp/sweep_demo --cfg-options train_cfg.max_epochs=3
    python tools/analysis_tools/rope_resolution_sweep.py \\
        configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py \\
        /tmp/sweep_demo/epoch_3.pth --sizes 32 48 64 --rope-types 1d 2d as2d ntk:2 \\
        --out-dir /tmp/sweep_demo/sweep

Writes ``rope_sweep.md`` (rows: variant, columns: size), ``rope_sweep.json`` and
``rope_sweep.png`` (accuracy vs resolution, one line per variant) to ``--out-dir``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction

from visionllama_mm.models.layers.rope import ROPE_TYPES
from visionllama_mm.utils import (add_reliability_hooks, build_runner, load_config,
                                  markdown_table, strip_pretrained)

RESIZES = ('Resize', 'ResizeEdge')
CROPS = ('CenterCrop', 'RandomResizedCrop')
CROP_KEYS = {'CenterCrop': 'crop_size', 'RandomResizedCrop': 'scale'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='classifier config file or scope::path')
    parser.add_argument('checkpoint', help='checkpoint to evaluate')
    parser.add_argument('--sizes', type=int, nargs='+', default=[160, 224, 320, 448])
    parser.add_argument(
        '--rope-types',
        nargs='+',
        default=['1d', '2d', 'as2d', 'ntk:2', 'ntk:4'],
        help="1d, 2d, as2d, ntk or ntk:ALPHA")
    parser.add_argument('--metric', default='accuracy/top1')
    parser.add_argument('--out-dir', default='work_dirs/rope_sweep')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides, key=value (e.g. '
        'val_dataloader.dataset.indices=1000)')
    parser.add_argument(
        '--verbose', action='store_true', help="keep the runners' INFO logs")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------
# config edits
# --------------------------------------------------------------------------
def rope_overrides(variant: str) -> Dict[str, Any]:
    """``'ntk:2'`` -> ``{'rope_type': 'ntk', 'ntk_alpha': 2.0}``, ``'2d'`` -> the type."""
    rope_type, _, alpha = variant.partition(':')
    if rope_type not in ROPE_TYPES:
        raise ValueError(f'unknown RoPE variant {variant!r}; expected one of '
                         f'{", ".join(ROPE_TYPES)} or ntk:ALPHA')
    if alpha and rope_type != 'ntk':
        raise ValueError(f'only ntk takes an alpha, got {variant!r}')
    overrides: Dict[str, Any] = dict(rope_type=rope_type)
    if alpha:
        overrides['ntk_alpha'] = float(alpha)
    return overrides


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _scale_value(value: Any, factor: float) -> Any:
    """Scale an int or a (w, h) scale; -1 ("keep ratio") entries stay."""
    if isinstance(value, (list, tuple)):
        return type(value)(v if v < 0 else round(v * factor) for v in value)
    return round(value * factor)


def _sized_like(value: Any, size: int) -> Any:
    return (size, size) if isinstance(value, (list, tuple)) else size


def resize_pipeline(pipeline: List[dict], size: int) -> List[dict]:
    """A copy of an eval pipeline that yields ``size x size`` images (see module doc)."""
    pipeline = copy.deepcopy(list(pipeline))
    crops = [t for t in pipeline if t.get('type') in CROPS]
    old_crop = _first(crops[0][CROP_KEYS[crops[0]['type']]]) if crops else None
    resized = False
    for transform in pipeline:
        kind = transform.get('type')
        if kind in CROPS:
            key = CROP_KEYS[kind]
            transform[key] = _sized_like(transform[key], size)
            resized = True
        elif kind in RESIZES and transform.get('scale') is not None:
            transform['scale'] = (
                _scale_value(transform['scale'], size / old_crop)
                if old_crop else _sized_like(transform['scale'], size))
            resized = True
        elif kind == 'Resize':  # scale_factor only
            transform.pop('scale_factor', None)
            transform['scale'] = (size, size)
            resized = True
    if not resized:
        loads = [
            i for i, t in enumerate(pipeline) if t.get('type') == 'LoadImageFromFile'
        ]
        pipeline.insert(loads[0] + 1 if loads else 0,
                        dict(type='Resize', scale=(size, size)))
    return pipeline


def _dataset_nodes(dataset: dict) -> List[dict]:
    """The dataset configs that hold a pipeline, through dataset wrappers."""
    if 'pipeline' in dataset:
        return [dataset]
    if isinstance(dataset.get('dataset'), dict):
        return _dataset_nodes(dataset['dataset'])
    return [node for sub in dataset.get('datasets', []) for node in _dataset_nodes(sub)]


def sweep_config(base: Config, variant: str, size: int, checkpoint: str, work_dir: str,
                 verbose: bool) -> Config:
    """The config for one (variant, size) evaluation."""
    cfg = copy.deepcopy(base)
    strip_pretrained(cfg)  # the checkpoint provides every weight
    cfg.model.backbone.update(rope_overrides(variant))
    nodes = _dataset_nodes(cfg.val_dataloader.dataset)
    if not nodes:
        raise ValueError('val_dataloader.dataset has no pipeline to resize')
    for node in nodes:
        node.pipeline = resize_pipeline(node.pipeline, size)
    cfg.load_from = checkpoint  # checked and loaded weights-only, strictly
    cfg.resume = False
    add_reliability_hooks(cfg)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.strftime("%Y%m%d_%H%M%S")}'
    if not verbose:
        cfg.log_level = 'WARNING'
    return cfg


# --------------------------------------------------------------------------
# running and reporting
# --------------------------------------------------------------------------
def run_sweep(args: argparse.Namespace) -> Dict[str, Dict[int, float]]:
    """``{variant: {size: metric}}`` for every variant and size."""
    base = load_config(args.config, args.cfg_options)
    results: Dict[str, Dict[int, float]] = {}
    for variant in args.rope_types:
        rope_overrides(variant)  # fail before any run on a bad name
    for variant in args.rope_types:
        results[variant] = {}
        for size in args.sizes:
            run_name = f"{variant.replace(':', '-')}_{size}"
            work_dir = osp.join(args.out_dir, 'runs', run_name)
            cfg = sweep_config(base, variant, size, args.checkpoint, work_dir,
                               args.verbose)
            metrics = build_runner(cfg).val()
            if args.metric not in metrics:
                raise KeyError(f'{args.metric!r} not among the metrics {sorted(metrics)}')
            results[variant][size] = float(metrics[args.metric])
            print(
                f'{variant:>8} {size:>5}px  {args.metric} = '
                f'{results[variant][size]:.2f}',
                flush=True)
    return results


def results_table(results: Dict[str, Dict[int, float]], sizes: Sequence[int]) -> str:
    rows = [[variant] + [f'{values[s]:.2f}' for s in sizes]
            for variant, values in results.items()]
    return markdown_table(['RoPE'] + [f'{s}px' for s in sizes], rows)


def plot(results: Dict[str, Dict[int, float]], sizes: Sequence[int], metric: str,
         train_size: Optional[int], path: str) -> None:
    """Accuracy vs resolution, one line per variant (Agg backend)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, values in results.items():
        ax.plot(sizes, [values[s] for s in sizes], marker='o', label=variant)
    if train_size:
        ax.axvline(
            train_size,
            color='gray',
            linestyle='--',
            linewidth=1,
            label=f'trained at {train_size}px')
    ax.set_xlabel('input resolution (px)')
    ax.set_ylabel(metric)
    ax.set_xticks(list(sizes))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _train_size(cfg: Config) -> Optional[int]:
    img_size = cfg.model.get('backbone', {}).get('img_size')
    return _first(img_size) if img_size is not None else None


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    results = run_sweep(args)
    train_size = _train_size(load_config(args.config, args.cfg_options))
    table = results_table(results, args.sizes)
    print(f'\n{args.metric} of {args.checkpoint}\n\n{table}')
    paths = {
        ext: osp.join(args.out_dir, f'rope_sweep.{ext}')
        for ext in ('md', 'json', 'png')
    }
    with open(paths['md'], 'w') as f:
        f.write(f'{args.metric} of `{args.checkpoint}` (`{args.config}`)\n\n{table}\n')
    summary = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        metric=args.metric,
        train_size=train_size,
        sizes=args.sizes,
        rope_types=args.rope_types,
        results={
            v: {
                str(s): a
                for s, a in r.items()
            }
            for v, r in results.items()
        })
    with open(paths['json'], 'w') as f:
        json.dump(summary, f, indent=2)
    plot(results, args.sizes, args.metric, train_size, paths['png'])
    print(f"\nwrote {', '.join(paths.values())}")
    return summary


if __name__ == '__main__':
    main()
