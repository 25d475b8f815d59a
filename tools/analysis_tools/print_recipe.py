"""Print the merged training recipe of a config as one table, to hold against a paper.

Reads the config only (nothing is built): model arguments, optimizer (layer decay,
parameters without weight decay), schedule, total batch, sampler, augmentation, loss,
evaluation, AMP and gradient clipping, each as the merged config states it (the
values of ``_base_`` files included).

Examples::

    python tools/analysis_tools/print_recipe.py \\
        configs/mae_visionllama/benchmarks/visionllama-base-p16_8xb128-coslr-100e_in1k.py
    python tools/analysis_tools/print_recipe.py CONFIG --gpus 16

The number of GPUs of the total batch comes from ``--gpus``, else from the config's
file name (``8xb256`` -> 8), else from ``auto_scale_lr.base_batch_size`` divided by
the per-GPU batch; the table says which.
"""
import argparse
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from visionllama_mm.utils import (CfgOptionsAction, load_config, markdown_table,
                                  seg_test_mode)

Row = Tuple[str, str]
#: transform / module arguments left out of the table (paths, display-only values).
SKIP_ARGS = ('type', 'init_cfg', 'backend_args', 'meta_keys', 'hparams', 'fill_color',
             'fill_std', '_scope_')
#: backbone arguments of the model row that come from elsewhere in the table.
MODEL_SKIP = ('init_cfg', 'pretrained', 'data_preprocessor', 'train_cfg', 'test_cfg')


def fmt(value: Any) -> str:
    """Compact text of a config value: floats in ``%g``, dicts as ``k=v`` lists."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f'{value:.6g}'
    if isinstance(value, dict):
        if 'type' in value:
            return call(value)
        return '{' + ', '.join(f'{k}={fmt(v)}' for k, v in value.items()) + '}'
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) and 'type' in v for v in value):
            return ' -> '.join(call(v) for v in value)
        if value and all(isinstance(v, (list, tuple)) for v in value):  # choices
            return 'one of [' + ' / '.join(fmt(v) for v in value) + ']'
        if len(value) == 1:
            return f'({fmt(value[0])},)'
        return '(' + ', '.join(fmt(v) for v in value) + ')'
    return str(value)


def call(node: Dict[str, Any], skip: Sequence[str] = SKIP_ARGS) -> str:
    """``Type(arg=value, ...)`` of a registry dict, without the ``skip`` arguments."""
    args = ', '.join(f'{k}={fmt(v)}' for k, v in node.items() if k not in skip)
    return f"{node.get('type', '?')}({args})"


def find_losses(node: Any, path: str = 'model') -> List[Row]:
    """Every ``loss*`` entry below ``node`` with its dotted path."""
    rows: List[Row] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith('loss') and isinstance(value, dict) and 'type' in value:
                rows.append((f'{path}.{key}', call(value)))
            else:
                rows += find_losses(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            rows += find_losses(value, f'{path}[{i}]')
    return rows


def gpus_of(cfg: Config, name: str, gpus: Optional[int]) -> Tuple[Optional[int], str]:
    """Number of GPUs for the total batch and where it came from."""
    if gpus is not None:
        return gpus, '--gpus'
    match = re.search(r'(\d+)xb(\d+)', name)
    if match:
        return int(match.group(1)), 'file name'
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    per_gpu = cfg.train_dataloader.get('batch_size')
    if base and per_gpu and base % per_gpu == 0:
        return base // per_gpu, 'auto_scale_lr'
    return None, 'unknown: pass --gpus'


def crop_ratio(pipeline: Sequence[Dict[str, Any]]) -> Optional[str]:
    """``crop / resize`` of a short-side resize followed by a centre crop."""
    resize = next((t for t in pipeline if t.get('type') == 'ResizeEdge'), None)
    crop = next((t for t in pipeline if t.get('type') == 'CenterCrop'), None)
    if resize is None or crop is None:
        return None
    size = crop['crop_size']
    size = size[0] if isinstance(size, (list, tuple)) else size
    return (f"{size / resize['scale']:.4g} (short side {resize['scale']}, "
            f'centre crop {size})')


def no_decay(paramwise: Dict[str, Any]) -> str:
    """Parameters the paramwise config keeps free of weight decay."""
    parts = [
        label
        for key, label in (('flat_decay_mult', '1-D params'),
                           ('norm_decay_mult', 'norms'), ('bias_decay_mult', 'biases'),
                           ('dwconv_decay_mult', 'depth-wise convs'))
        if paramwise.get(key) == 0
    ]
    parts += [
        f"'{key}'" for key, value in (paramwise.get('custom_keys') or {}).items()
        if value.get('decay_mult', 1) == 0
    ]
    return ', '.join(parts) or 'none'


def batch_augments(cfg: Config) -> str:
    """The batch augmentations of the training data and how they combine.

    mmpretrain (``model.train_cfg.augments`` or a ``batch_augments`` dict of the data
    preprocessor) applies **one** of them to each batch (``RandomBatchAugment``: with
    ``probs``, or evenly; ``probs`` summing below 1 leave the rest of the batches
    unaugmented). mmdet / mmseg preprocessors apply a ``batch_augments`` list in turn.
    """
    model = cfg.model
    train_cfg = model.get('train_cfg') or {}
    preprocessor = model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    spec = train_cfg if 'augments' in train_cfg else preprocessor.get('batch_augments')
    if not spec:
        return 'none'
    if not isinstance(spec, dict):
        return fmt(spec)  # in sequence
    augments = spec['augments']
    augments = list(augments) if isinstance(augments, (list, tuple)) else [augments]
    probs = spec.get('probs')
    if probs is None:
        probs = [1 / len(augments)] * len(augments)
    probs = [probs] if isinstance(probs, (int, float)) else list(probs)
    choices = [f'{call(aug)} (p {fmt(float(p))})' for aug, p in zip(augments, probs)]
    if 1 - sum(probs) > 1e-9:
        choices.append(f'none (p {fmt(1 - sum(probs))})')
    return 'one per batch of [' + ' / '.join(choices) + ']'


def schedule(cfg: Config) -> str:
    """The parameter schedulers in order, with their ranges and units."""
    steps = []
    for sched in cfg.get('param_scheduler') or []:
        unit = 'ep' if sched.get('by_epoch', True) else 'it'
        span = f"{unit} {sched.get('begin', 0)}-{sched.get('end', 'end')}"
        if sched.get('convert_to_iter_based'):
            span += ' (per iter)'
        skip = SKIP_ARGS + ('begin', 'end', 'by_epoch', 'convert_to_iter_based')
        steps.append(f'{call(sched, skip)} {span}')
    return ' ; '.join(steps) or 'none'


def recipe_rows(cfg: Config, name: str, gpus: Optional[int] = None) -> List[Row]:
    """The recipe of a merged config as ``(item, value)`` rows."""
    model = cfg.model
    rows: List[Row] = [
        ('model',
         call(
             model, SKIP_ARGS + MODEL_SKIP + ('backbone', 'neck', 'head', 'decode_head',
                                              'auxiliary_head', 'rpn_head', 'roi_head')))
    ]
    for part in ('backbone', 'neck', 'head', 'decode_head', 'auxiliary_head', 'rpn_head',
                 'roi_head'):
        if isinstance(model.get(part), dict):
            rows.append((part, call(model[part], SKIP_ARGS + MODEL_SKIP)))
    init = (model.get('backbone') or {}).get('init_cfg')
    if isinstance(init, dict) and init.get('checkpoint'):
        rows.append(('pretrained', str(init['checkpoint'])))
    if cfg.get('load_from'):
        rows.append(('load_from', str(cfg.load_from)))

    wrapper = cfg.optim_wrapper
    paramwise = wrapper.get('paramwise_cfg') or {}
    rows.append(('optimizer', call(wrapper.optimizer)))
    rows.append(
        ('constructor', wrapper.get('constructor', 'DefaultOptimWrapperConstructor')))
    rate = paramwise.get('layer_decay_rate', paramwise.get('decay_rate'))
    rows.append(('layer decay', fmt(rate) if rate is not None else 'none'))
    rows.append(('no weight decay', no_decay(paramwise)))
    rows.append(('schedule', schedule(cfg)))
    train_cfg = cfg.get('train_cfg') or {}
    length = (f"{train_cfg['max_epochs']} epochs" if 'max_epochs' in train_cfg else
              f"{train_cfg.get('max_iters')} iterations")
    rows.append(('length', length))

    per_gpu = cfg.train_dataloader.get('batch_size')
    accum = wrapper.get('accumulative_counts', 1)
    n_gpus, source = gpus_of(cfg, name, gpus)
    total = f' = {n_gpus * per_gpu * accum}' if n_gpus and per_gpu else ''
    rows.append(('total batch', f'{n_gpus or "?"} GPUs ({source}) x {per_gpu} per GPU '
                 f'x {accum} accumulation{total}'))
    rows.append(('sampler', fmt(cfg.train_dataloader.get('sampler'))))

    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        dataset = dataset.dataset  # RepeatDataset / ClassBalancedDataset wrappers
    rows.append(('train pipeline', fmt(dataset.get('pipeline', []))))
    rows.append(('batch augments', batch_augments(cfg)))
    rows += [(f'loss {path}', value) for path, value in find_losses(model)] or \
        [('loss', 'none found')]

    test_pipeline = cfg.test_dataloader.dataset.get('pipeline', []) \
        if cfg.get('test_dataloader') else []
    rows.append(('test pipeline', fmt(test_pipeline)))
    ratio = crop_ratio(test_pipeline)
    if ratio:
        rows.append(('eval crop ratio', ratio))
    if cfg.get('default_scope') == 'mmseg':
        rows.append(('inference', seg_test_mode(cfg)))
    rows.append(('evaluation', fmt(cfg.get('val_evaluator'))))

    amp = wrapper.get('type') == 'AmpOptimWrapper'
    rows.append(('AMP', f"yes ({fmt(wrapper.get('dtype', 'float16'))}, loss scale "
                 f"{fmt(wrapper.get('loss_scale', 'dynamic'))})"
                 if amp else 'no (tools/train.py --amp turns it on)'))
    rows.append(('gradient clipping',
                 fmt(wrapper.get('clip_grad')) if wrapper.get('clip_grad') else 'none'))
    return rows


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or scope::path')
    parser.add_argument('--gpus', type=int, help='GPUs for the total batch')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override settings, as tools/train.py')
    args = parser.parse_args(argv)
    if args.gpus is not None and args.gpus < 1:
        parser.error(f'--gpus must be a positive integer, got {args.gpus}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    name = args.config.split('::')[-1].rsplit('/', 1)[-1]
    table = markdown_table(('item', 'value'), recipe_rows(cfg, name, args.gpus))
    print(f'Recipe of {args.config}\n\n{table}')
    return table


if __name__ == '__main__':
    main()
