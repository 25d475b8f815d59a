"""COCO annotations are validated before mmdet and pycocotools read them (issue 12,
finding 2; degenerate instances and unknown categories of finding 3). A NaN / inf /
1e9 polygon coordinate made pycocotools allocate until the OOM killer: it is now an
error naming the file and the annotation id, before any data is loaded."""
import json
import math

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.checks import (DataError, check_annotation_file,
                                          check_coco_annotations, check_dataset_files)

DET = 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'
IMAGE = dict(id=1, file_name='000000000001.jpg', width=128, height=96)
CATEGORIES = [
    dict(id=1, name='circle'),
    dict(id=2, name='square'),
    dict(id=3, name='triangle')
]
SQUARE = [20., 20., 60., 20., 60., 60., 20., 60.]


def annotation(ann_id,
               segmentation=None,
               bbox=(20., 20., 40., 40.),
               category=1,
               area=1600.):
    return dict(
        id=ann_id,
        image_id=1,
        category_id=category,
        iscrowd=0,
        area=area,
        bbox=list(bbox),
        segmentation=[SQUARE] if segmentation is None else segmentation)


def write_coco(path, annotations, images=(IMAGE, ), categories=CATEGORIES):
    # json writes NaN / Infinity literals, which json (and pycocotools) read back
    path.write_text(
        json.dumps(
            dict(
                images=list(images), annotations=annotations,
                categories=list(categories))))
    return str(path)


@pytest.mark.parametrize('polygon,reason', [
    ([20., 20., math.nan, 20., 60., 60.], 'polygon coordinate is NaN or inf'),
    ([20., 20., math.inf, 20., 60., 60.], 'polygon coordinate is NaN or inf'),
    ([20., 20., 1e9, 20., 60., 60.], 'polygon outside the image by more than '
     'margin=0.5'),
    ([20., 20., 60., 20., 60.], 'polygon has an odd number of values'),
    ([20., 20., 'x', 20., 60., 60.], 'polygon is not a flat list of numbers'),
])
def test_polygons_that_would_take_the_host_down(tmp_path, polygon, reason):
    path = write_coco(
        tmp_path / 'instances.json',
        [annotation(1), annotation(7, [polygon]),
         annotation(8)])
    with pytest.raises(
            DataError,
            match=(f'COCO annotation file {path}: {reason}: ' + r'ids \[7\] \(1\)')):
        check_coco_annotations(path)


@pytest.mark.parametrize('bbox,reason', [
    ((20., math.nan, 40., 40.), r'bbox is not 4 finite numbers \[x, y, w, h\]'),
    ((20., 20., 1e9, 40.), 'bbox outside the image by more than margin=0.5'),
])
def test_bad_boxes(tmp_path, bbox, reason):
    path = write_coco(tmp_path / 'instances.json', [annotation(3, bbox=bbox)])
    with pytest.raises(DataError, match=f'{reason}: ' + r'ids \[3\]'):
        check_coco_annotations(path)


def test_undeclared_images_and_categories(tmp_path):
    orphan = dict(annotation(4), image_id=99)
    unknown = annotation(5, category=42)
    path = write_coco(tmp_path / 'instances.json', [annotation(1), orphan, unknown])
    with pytest.raises(
            DataError,
            match=(r"image_id not among the file's valid images: ids \[4\] \(1\); "
                   r"category_id not declared in 'categories': ids \[5\] \(1\)")):
        check_coco_annotations(path)
    bad_image = dict(IMAGE, width=0)
    path = write_coco(tmp_path / 'sizes.json', [annotation(1)], images=[bad_image])
    with pytest.raises(
            DataError,
            match=r'image without a positive width / height '
            r'\(image ids\): ids \[1\]'):
        check_coco_annotations(path)


def test_degenerate_instances_are_skipped_with_a_warning(tmp_path):
    """mmdet drops boxes under 1 px and ignores instances whose polygons all have
    fewer than 3 points; they used to train with no loss and no word. They are
    reported, by id; annotations of categories outside the classes too."""
    anns = [
        annotation(1),
        annotation(2, [[20., 20., 40., 40.]]),
        annotation(3, bbox=(20., 20., 0., 40.), area=0.),
        annotation(4, category=3)
    ]
    path = write_coco(tmp_path / 'instances.json', anns)
    warnings = check_coco_annotations(path, classes=('circle', 'square'))
    text = '\n'.join(warnings)
    assert len(warnings) == 3, text
    assert 'polygon with fewer than 3 points, skipped by mmdet (no loss from them): ' \
           'ids [2] (1)' in text
    assert 'box under 1 px or with area <= 0, skipped by mmdet (no loss from them): ' \
           'ids [3] (1)' in text
    assert "1 annotations of categories ['triangle'] are not in the dataset classes " \
           "['circle', 'square'] and are dropped" in text
    assert check_coco_annotations(
        write_coco(tmp_path / 'ok.json', [annotation(1)]), classes=('circle', )) == []


@pytest.mark.parametrize('content,match', [
    ('', r'annotation file .*empty.json is empty \(0 bytes\)'),
    ('{"images": [', 'is not valid JSON'),
    ('{}', r"has no images or no categories: it needs non-empty 'images' and "
     r"'categories' lists .*got \[\]"),
    ('{"images": [], "annotations": [], "categories": []}', 'has no images'),
])
def test_empty_or_broken_files_before_the_dataset_is_built(tmp_path, content, match):
    path = tmp_path / 'empty.json'
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        check_annotation_file(str(path))
    cfg = Config.fromfile(DET)
    cfg.train_dataloader.dataset.ann_file = str(path)
    with pytest.raises(DataError, match=match):
        check_dataset_files(cfg)


def test_a_real_run_stops_before_the_first_batch(tmp_path):
    """Through mmengine's Runner with ``DataCheckHook``: the demo's training file with
    a 1e9 coordinate stops the run in ``before_run``, naming file and id."""
    source = json.load(open('data/demo/coco/annotations/instances_train2017.json'))
    bad_id = source['annotations'][5]['id']
    source['annotations'][5]['segmentation'] = [[10., 10., 1e9, 10., 50., 50.]]
    ann_file = tmp_path / 'instances_train2017.json'
    ann_file.write_text(json.dumps(source))
    cfg = Config.fromfile(DET)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.ann_file = str(ann_file)
    cfg.train_dataloader.dataset.data_prefix = dict(img='train2017/')
    cfg.custom_hooks = [dict(type='DataCheckHook')]
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            DataError,
            match=(f'COCO annotation file {ann_file}: polygon outside the image by more '
                   'than '
                   f'margin=0.5: ids \\[{bad_id}\\]')):
        runner.train()
    assert runner.iter == 0
