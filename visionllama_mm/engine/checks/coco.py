"""Validate a COCO instances file before mmdet and pycocotools read it.

pycocotools rasterises a polygon with one point per pixel of its edges, so a NaN, inf
or 1e9 coordinate makes it allocate until the host runs out of memory (or segfault
under ``ulimit``). :func:`check_coco_annotations` reads the file once with the
standard ``json`` module and refuses, naming the file and the annotation ids:

- an empty file, invalid JSON, no ``images`` or no ``categories``;
- an image without a positive ``width`` / ``height``, or declared with more pixels
  than ``max_pixels`` (the sizes are checked against the files' headers by
  :func:`~visionllama_mm.engine.checks.images.check_declared_sizes`);
- an annotation whose ``image_id`` or ``category_id`` is not declared in the file;
- a box or polygon coordinate that is not a finite number, or lies further than
  ``margin`` image sizes outside its image; a polygon with an odd number of values;
- an RLE mask whose ``size`` is not its image's ``(height, width)``.

Instances mmdet skips without a word are reported in warnings instead (their image
may then train as background): boxes under 1 px or with ``area <= 0``, boxes outside
their image, polygons with fewer than 3 points, and annotations whose category is not
in the dataset's ``classes``.
"""
import json
import math
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from ...errors import DataError, describe_ids


def load_json_file(path: str) -> object:
    """``json.load`` with errors that name the file (empty file, syntax error)."""
    with open(path, 'rb') as f:
        raw = f.read()
    if not raw.strip():
        raise DataError(f'annotation file {path} is empty ({len(raw)} bytes)')
    try:
        return json.loads(raw)
    except ValueError as err:
        raise DataError(f'annotation file {path} is not valid JSON: {err}') from None


_NUMBER_TYPES = (int, float)  # what json gives; bool is no coordinate


def _numbers(values) -> bool:
    return isinstance(values, (list, tuple)) and \
        all(type(v) in _NUMBER_TYPES for v in values)


def _finite(values) -> bool:
    try:  # a sum is finite only if every value is (the loop runs on overflow only)
        return math.isfinite(sum(values)) or all(map(math.isfinite, values))
    except OverflowError:  # an integer beyond the float range
        return False


def _number(value) -> bool:
    return type(value) in _NUMBER_TYPES and _finite((value, ))


def _inside(xs: Sequence[float], ys: Sequence[float], size: Tuple[float, float],
            margin: float) -> bool:
    width, height = size
    return (min(xs) >= -margin * width and max(xs) <= (1 + margin) * width
            and min(ys) >= -margin * height and max(ys) <= (1 + margin) * height)


def _check_bbox(bbox, size, margin: float, area) -> Optional[Tuple[str, str]]:
    """``('error' | 'skip', reason)`` or None."""
    if not _numbers(bbox) or len(bbox) != 4 or not _finite(bbox):
        return 'error', 'bbox is not 4 finite numbers [x, y, w, h]'
    x, y, w, h = bbox
    if not _inside((x, x + w), (y, y + h), size, margin):
        return 'error', f'bbox outside the image by more than margin={margin}'
    inter_w = min(x + w, size[0]) - max(x, 0)
    inter_h = min(y + h, size[1]) - max(y, 0)
    if w < 1 or h < 1 or (_number(area) and area <= 0):
        return 'skip', 'box under 1 px or with area <= 0'
    if inter_w <= 0 or inter_h <= 0:
        return 'skip', 'box outside its image'
    return None


def _check_segmentation(seg, size, margin: float) -> Optional[Tuple[str, str]]:
    if seg is None:
        return None
    if isinstance(seg, dict):  # RLE
        rle_size = seg.get('size')
        if not isinstance(rle_size, (list, tuple)) or \
                list(rle_size) != [size[1], size[0]]:
            return 'error', 'RLE size is not the image (height, width)'
        counts = seg.get('counts')
        if isinstance(counts, list) and sum(counts) != size[0] * size[1]:
            return 'error', 'RLE counts do not add up to height * width'
        return None
    if not isinstance(seg, list):
        return 'error', 'segmentation is neither a list of polygons nor an RLE dict'
    usable = 0
    for polygon in seg:
        if not _numbers(polygon):
            return 'error', 'polygon is not a flat list of numbers'
        if len(polygon) % 2:
            return 'error', 'polygon has an odd number of values'
        if not polygon:
            continue
        if not _finite(polygon):
            return 'error', 'polygon coordinate is NaN or inf'
        if not _inside(polygon[0::2], polygon[1::2], size, margin):
            return 'error', f'polygon outside the image by more than margin={margin}'
        usable += len(polygon) >= 6
    if not usable:
        return 'skip', 'polygon with fewer than 3 points'
    return None


def is_coco(data: object) -> bool:
    """Whether parsed JSON is to be read as a COCO file: anything but mmengine's
    ``{'metainfo', 'data_list'}`` layout."""
    return not (isinstance(data, dict) and 'data_list' in data)


def check_coco_layout(data: object, path: str) -> None:
    """COCO's top level: non-empty ``images`` and ``categories`` lists."""
    if not isinstance(data, dict) or not data.get('images') or \
            not data.get('categories'):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataError(f'COCO annotation file {path} has no images or no categories: '
                        "it needs non-empty 'images' and 'categories' lists and an "
                        f"'annotations' list, got {keys}")


def check_coco_annotations(path: str,
                           classes: Optional[Sequence[str]] = None,
                           margin: float = 0.5,
                           data: object = None,
                           max_pixels: Optional[int] = None) -> List[str]:
    """Check the COCO instances file ``path`` (see the module docstring).

    Args:
        path: the json file.
        classes: the dataset's class names (annotations of other categories are
            dropped by mmdet: reported in a warning). None skips that report.
        margin: how far outside its image a coordinate may lie, in image sizes
            (0.5: ``-0.5 w <= x <= 1.5 w``).
        data: the parsed file, if already read.
        max_pixels: an image declared with more pixels is an error (no such file can
            be decoded; coordinates measured against it would pass unchecked).

    Returns the warnings (empty when every annotation is used). Raises
    :class:`DataError` naming the file and the offending ids otherwise.
    """
    data = load_json_file(path) if data is None else data
    check_coco_layout(data, path)
    categories: Dict = {c.get('id'): c.get('name') for c in data['categories']}
    errors: Dict[str, List] = defaultdict(list)
    skipped: Dict[str, List] = defaultdict(list)
    sizes = {}
    for image in data['images']:
        w, h = image.get('width'), image.get('height')
        if not (_number(w) and _number(h) and w > 0 and h > 0):
            errors['image without a positive width / height (image ids)'].append(
                image.get('id'))
        elif max_pixels is not None and w * h > max_pixels:
            errors[f'image declared over max_pixels={max_pixels:,} (image ids)'].append(
                image.get('id'))
        else:
            sizes[image.get('id')] = (w, h)
    outside_classes: Counter = Counter()
    for ann in data.get('annotations') or []:
        ann_id = ann.get('id')
        size = sizes.get(ann.get('image_id'))
        if size is None:
            errors["image_id not among the file's valid images"].append(ann_id)
            continue
        if ann.get('category_id') not in categories:
            errors["category_id not declared in 'categories'"].append(ann_id)
            continue
        for found in (_check_bbox(ann.get('bbox'), size, margin, ann.get('area')),
                      _check_segmentation(ann.get('segmentation'), size, margin)):
            if found is not None:
                (errors if found[0] == 'error' else skipped)[found[1]].append(ann_id)
        name = categories[ann['category_id']]
        if classes is not None and name not in classes:
            outside_classes[name] += 1
    if errors:
        lines = '; '.join(f'{reason}: {describe_ids(ids)}'
                          for reason, ids in errors.items())
        raise DataError(f'COCO annotation file {path}: {lines}. Fix or remove these '
                        'annotations (pycocotools would allocate without bound or '
                        'crash on them).')
    warnings = [
        f'COCO annotation file {path}: {reason}, skipped by mmdet (no loss '
        f'from them): {describe_ids(ids)}' for reason, ids in skipped.items()
    ]
    if outside_classes:
        warnings.append(f'COCO annotation file {path}: {sum(outside_classes.values())}'
                        f' annotations of categories {sorted(outside_classes)} are not '
                        f'in the dataset classes {list(classes)} and are dropped')
    return warnings
