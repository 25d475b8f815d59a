"""Dataset checks that name the bad file before mmpretrain / mmseg / mmdet trip on it.

Two stages:

- :func:`check_dataset_files` reads a config and checks the annotation files **before
  the datasets are built** (building is where an empty file, invalid JSON or a label
  ``"abc"`` would otherwise crash without naming the file);
- :func:`check_dataset` checks a built dataset: not empty, image and label-map files
  present and not zero bytes, class labels inside ``[0, num_classes)``, label maps
  with one channel and their image's size, COCO annotations
  (:func:`~visionllama_mm.engine.checks.coco.check_coco_annotations`).

Errors are :class:`DataError`; instances the loaders skip by design come back as
warnings. ``DataCheckHook`` runs :func:`check_dataset` before every run.
"""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple

from ...errors import DataError, describe_ids
from .coco import check_coco_annotations, check_coco_layout, is_coco, load_json_file

__all__ = [
    'DataError', 'check_annotation_file', 'check_coco_annotations', 'check_coco_file',
    'check_dataset', 'check_dataset_files', 'check_image_files', 'check_label_values',
    'check_seg_maps', 'base_datasets', 'describe_ids', 'evaluator_ann_files'
]

#: PIL modes of single-channel label maps (palette PNGs hold indices too).
LABEL_MAP_MODES = ('L', 'P', 'I', 'I;16', '1')
EXIF_ORIENTATION = 0x0112


def check_annotation_file(path: str, with_label: bool = True) -> None:
    """An annotation file can be parsed: it exists and is not empty; a ``.json`` file
    is valid JSON (COCO: with images and categories); a text list (mmpretrain's
    ``"path label"`` lines) has an integer label on every line when ``with_label``."""
    if not osp.isfile(path):
        raise DataError(f'annotation file {path} does not exist')
    if path.endswith('.json'):
        data = load_json_file(path)
        if is_coco(data):
            check_coco_layout(data, path)
        return
    with open(path, encoding='utf-8') as f:
        lines = [(n, line.strip()) for n, line in enumerate(f, 1) if line.strip()]
    if not lines:
        raise DataError(f'annotation file {path} is empty: it needs one '
                        f'"{"path label" if with_label else "path"}" line per sample')
    if not with_label:
        return
    bad = [(n, line) for n, line in lines
           if len(line.rsplit(' ', 1)) != 2 or not _is_int(line.rsplit(' ', 1)[1])]
    if bad:
        shown = '; '.join(f'line {n}: {line!r}' for n, line in bad[:5])
        raise DataError(f'annotation file {path}: {len(bad)} lines are not "path '
                        f'label" with an integer class index, e.g. {shown}')


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def check_image_files(paths: Iterable[str], what: str = 'image') -> None:
    """Every file exists and has more than zero bytes (a zero-byte JPEG otherwise
    fails inside OpenCV's decoder without its name)."""
    missing, empty = [], []
    for path in paths:
        if '://' in str(path):  # a remote backend (s3://, http://): not stat-able here
            continue
        try:
            if os.stat(path).st_size == 0:
                empty.append(path)
        except OSError:
            missing.append(path)
    for files, problem in ((missing, 'missing'), (empty, 'empty (0 bytes)')):
        if files:
            raise DataError(f'{len(files)} {what} files are {problem}: '
                            f'{files[:5]}{" ..." if len(files) > 5 else ""}')


def check_label_values(labels: Sequence[Tuple[str, object]], num_classes: int,
                       source: str) -> None:
    """Class labels ``(file, label)`` are ints in ``[0, num_classes)``; a multi-label
    sample's label is a list of them."""
    bad = [(path, label) for path, label in labels if not all(
        isinstance(v, int) and 0 <= v < num_classes
        for v in (label if isinstance(label, list) else [label]))]
    if bad:
        shown = ', '.join(f'{path}: {label!r}' for path, label in bad[:5])
        raise DataError(f'{source}: {len(bad)} samples have a label outside '
                        f'0..{num_classes - 1} ({num_classes} classes), e.g. {shown}')


def check_seg_maps(pairs: Iterable[Tuple[str, str]]) -> None:
    """Each ``(image, label map)`` pair: the map has one channel and the image's size
    (read from the file headers only). mmseg would otherwise resample a map of another
    size silently, and an RGB map fails deep in the loss."""
    from PIL import Image
    for image_path, map_path in pairs:
        try:
            with Image.open(map_path) as label_map:
                mode, map_size = label_map.mode, label_map.size
            with Image.open(image_path) as image:
                image_size = image.size
                if image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                    image_size = image_size[::-1]  # OpenCV decodes it turned by 90°
        except (OSError, ValueError):  # a format PIL cannot read (mmcv may): unchecked
            continue
        if mode not in LABEL_MAP_MODES:
            raise DataError(f'label map {map_path} has mode {mode!r} (several '
                            'channels): a label map holds one class index per pixel '
                            f'(modes {LABEL_MAP_MODES}); convert colour maps to '
                            'indices first')
        if map_size != image_size:
            raise DataError(f'label map {map_path} is {map_size[0]}x{map_size[1]} but '
                            f'its image {image_path} is {image_size[0]}x'
                            f'{image_size[1]} (width x height): they must match')


def base_datasets(dataset) -> List:
    """The datasets inside mmengine's wrappers (Concat / Repeat / ClassBalanced)."""
    if hasattr(dataset, 'datasets'):
        return [d for inner in dataset.datasets for d in base_datasets(inner)]
    if hasattr(dataset, 'dataset'):
        return base_datasets(dataset.dataset)
    return [dataset]


def check_dataset(dataset, check_files: bool = True, margin: float = 0.5) -> List[str]:
    """Check a built dataset (see the module docstring); returns warnings."""
    warnings: List[str] = []
    for base in base_datasets(dataset):
        if hasattr(base, 'full_init'):
            base.full_init()
        name = f'{type(base).__name__} (ann_file={getattr(base, "ann_file", None)!r}, ' \
               f'data_root={getattr(base, "data_root", None)!r})'
        if len(base) == 0:
            raise DataError(f'dataset {name} has no samples: check ann_file, '
                            'data_root / data_prefix and the class filter')
        infos = [base.get_data_info(i) for i in range(len(base))]
        classes = (getattr(base, 'metainfo', None) or {}).get('classes')
        if check_files:
            check_image_files(i['img_path'] for i in infos if i.get('img_path'))
        if infos[0].get('gt_label') is not None and classes:
            check_label_values([(i.get('img_path'), _plain(i['gt_label']))
                                for i in infos], len(classes), name)
        if infos[0].get('seg_map_path') and check_files:
            check_image_files((i['seg_map_path'] for i in infos), 'label map')
            check_seg_maps((i['img_path'], i['seg_map_path']) for i in infos)
        warnings += check_coco_file(getattr(base, 'ann_file', ''), classes, margin)
    return warnings


def check_coco_file(path,
                    classes: Optional[Sequence[str]] = None,
                    margin: float = 0.5) -> List[str]:
    """:func:`check_coco_annotations` if ``path`` is a COCO json file, else nothing."""
    if not (isinstance(path, str) and path.endswith('.json') and osp.isfile(path)):
        return []
    data = load_json_file(path)
    return check_coco_annotations(path, classes, margin, data) if is_coco(data) else []


def _plain(label):
    """A label as Python int(s): numpy / tensor scalars and arrays (multi-label) become
    an int or a list of ints; anything else is returned unchanged."""
    if hasattr(label, 'tolist'):
        label = label.tolist()
    if isinstance(label, (list, tuple)):
        return [_plain(v) for v in label]
    try:
        return int(label) if int(label) == label else label
    except (TypeError, ValueError):
        return label


def _dataset_cfgs(cfg) -> List[Tuple[str, dict]]:
    found = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader and loader.get('dataset'):
            found += [(split, d) for d in _unwrap_cfg(loader['dataset'])]
    return found


def _unwrap_cfg(dataset_cfg) -> List[dict]:
    if dataset_cfg.get('datasets'):
        return [d for inner in dataset_cfg['datasets'] for d in _unwrap_cfg(inner)]
    if dataset_cfg.get('dataset'):
        return _unwrap_cfg(dataset_cfg['dataset'])
    return [dataset_cfg]


def _resolve(data_root: Optional[str], path: str) -> str:
    return path if osp.isabs(path) or not data_root else osp.join(data_root, path)


def check_dataset_files(cfg) -> None:
    """Check the annotation files a config names, before its datasets are built:
    every ``ann_file`` of the train / val / test datasets (an mmpretrain ImageNet-style
    ``split`` reads ``meta/<split>.txt``) and of the evaluators."""
    scope = cfg.get('default_scope')
    for split, dataset in _dataset_cfgs(cfg):
        ann_file = dataset.get('ann_file') or ''
        root = dataset.get('data_root')
        if not ann_file and dataset.get('split') and root:
            candidate = osp.join('meta', f'{dataset["split"]}.txt')
            ann_file = candidate if osp.isfile(osp.join(root, candidate)) else ''
        if not ann_file:
            continue
        path = _resolve(root, ann_file)
        labelled = scope == 'mmpretrain' and dataset.get('with_label', True)
        check_annotation_file(path, with_label=labelled)
    for path in evaluator_ann_files(cfg):
        check_annotation_file(path)


def evaluator_ann_files(cfg) -> List[str]:
    """The ``ann_file`` of every val / test evaluator of a config."""
    files = []
    for split in ('val', 'test'):
        evaluators = cfg.get(f'{split}_evaluator') or []
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            if isinstance(evaluator, dict) and evaluator.get('ann_file'):
                files.append(evaluator['ann_file'])
    return files
