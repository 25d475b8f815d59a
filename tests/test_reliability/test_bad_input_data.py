"""Bad classification and segmentation data is named before it reaches the model
(issue 12, findings 3 and 4): zero-byte images, empty annotation files, labels 7 /
-1 / "abc", label maps of another size, RGB label maps, label ids out of range."""
import shutil

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine import DataCheckHook
from visionllama_mm.engine.checks import (DataError, check_annotation_file, check_dataset,
                                          check_dataset_files)

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
CLASSES = ('circle', 'square', 'triangle')
SEG_CLASSES = ('background', 'circle', 'square', 'triangle')


def cls_dataset(root, lines):
    """An mmpretrain CustomDataset over 3 demo images with an annotation file."""
    from mmpretrain.registry import DATASETS
    for name in ('circle_train_0000.JPEG', 'square_train_0000.JPEG'):
        cls = name.split('_')[0]
        (root / cls).mkdir(exist_ok=True)
        shutil.copy(f'data/demo/imagenet/train/{cls}/{name}', root / cls / name)
    (root / 'ann.txt').write_text(''.join(f'{line}\n' for line in lines))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(
            dict(
                type='CustomDataset',
                data_root=str(root),
                ann_file='ann.txt',
                classes=CLASSES,
                pipeline=[]))


def test_zero_byte_jpeg(tmp_path):
    dataset = cls_dataset(tmp_path,
                          ['circle/circle_train_0000.JPEG 0', 'square/empty.JPEG 1'])
    (tmp_path / 'square' / 'empty.JPEG').write_bytes(b'')
    with pytest.raises(
            DataError,
            match=r"1 image files are empty \(0 bytes\): "
            r"\['.*square/empty.JPEG'\]"):
        check_dataset(dataset)


@pytest.mark.parametrize('label', ['7', '-1'])
def test_labels_outside_the_classes(tmp_path, label):
    dataset = cls_dataset(
        tmp_path,
        ['circle/circle_train_0000.JPEG 0', f'square/square_train_0000.JPEG {label}'])
    with pytest.raises(
            DataError,
            match=(
                r'CustomDataset \(ann_file=.*ann.txt.*\): 1 samples have a label outside '
                rf'0..2 \(3 classes\), e.g. .*square_train_0000.JPEG: {label}')):
        check_dataset(dataset)


def test_non_integer_label_and_empty_file_before_the_dataset_is_built(tmp_path):
    ann = tmp_path / 'ann.txt'
    ann.write_text('circle/a.JPEG 0\nsquare/b.JPEG abc\n')
    with pytest.raises(ValueError, match="invalid literal for int"):  # what it was
        cls_dataset(tmp_path, ann.read_text().splitlines())
    with pytest.raises(
            DataError,
            match=(r'annotation file .*ann.txt: 1 lines are not "path label" with an '
                   r'integer '
                   r"class index, e.g. line 2: 'square/b.JPEG abc'")):
        check_annotation_file(str(ann))
    ann.write_text('\n')
    with pytest.raises(
            DataError,
            match=r'annotation file .*ann.txt is empty: it needs '
            'one "path label" line per sample'):
        check_annotation_file(str(ann))
    cfg = Config.fromfile(CLS)  # the same through the config, as launched
    cfg.train_dataloader.dataset.ann_file = str(ann)
    with pytest.raises(DataError, match='is empty'):
        check_dataset_files(cfg)
    check_dataset_files(Config.fromfile(CLS))  # the demo's own meta/*.txt are fine


def seg_dataset(root, maps, pipeline=()):
    """An mmseg BaseSegDataset (ADE layout as the demo) with the given label maps."""
    from mmseg.registry import DATASETS
    (root / 'img').mkdir(parents=True)
    (root / 'ann').mkdir()
    for i, label_map in enumerate(maps):
        shutil.copy(f'data/demo/ade/images/training/ADE_train_0000000{i + 1}.jpg',
                    root / 'img' / f'{i}.jpg')
        assert cv2.imwrite(str(root / 'ann' / f'{i}.png'), label_map)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(
            dict(
                type='BaseSegDataset',
                data_root=str(root),
                img_suffix='.jpg',
                seg_map_suffix='.png',
                data_prefix=dict(img_path='img', seg_map_path='ann'),
                metainfo=dict(classes=SEG_CLASSES),
                reduce_zero_label=True,
                pipeline=list(pipeline)))


def demo_map():
    return cv2.imread('data/demo/ade/annotations/training/ADE_train_00000001.png',
                      cv2.IMREAD_UNCHANGED)


def test_label_map_of_another_size_or_with_colours(tmp_path):
    good = demo_map()
    small = good[:good.shape[0] // 2]
    dataset = seg_dataset(tmp_path / 'size', [good, small])
    with pytest.raises(
            DataError,
            match=r'label map .*1.png is \d+x\d+ but its image '
            r'.*1.jpg is \d+x\d+ \(width x height\)'):
        check_dataset(dataset)
    dataset = seg_dataset(tmp_path / 'rgb', [good, np.stack([good] * 3, -1)])
    with pytest.raises(
            DataError, match=r"label map .*1.png has mode 'RGB' \(several "
            'channels\\)'):
        check_dataset(dataset)
    check_dataset(seg_dataset(tmp_path / 'ok', [good, good]))


def test_label_ids_out_of_range_in_a_batch(tmp_path):
    """Values are checked per batch after loading (``reduce_zero_label``: raw 0 ->
    255, v -> v - 1), naming the file; 4 classes allow raw values 0..4."""
    bad = demo_map().copy()
    bad[:4, :4] = 9
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    dataset = seg_dataset(tmp_path, [demo_map(), bad], pipeline)
    hook = DataCheckHook()
    hook.seg_labels['train'] = hook._seg_label_range(dataset)
    assert hook.seg_labels['train'] == (4, 255)
    with DefaultScope.overwrite_default_scope('mmseg'):
        good_batch, bad_batch = (pseudo_collate([dataset[i]]) for i in range(2))
    hook.before_train_iter(None, 0, good_batch)
    with pytest.raises(
            DataError,
            match=r'label map .*1.png holds class ids \[8\] '
            r'outside 0..3 \(4 classes\) and the ignore '
            'index 255'):
        hook.before_train_iter(None, 0, bad_batch)


@pytest.mark.parametrize('config', [
    CLS, 'configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py',
    'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'
])
def test_the_demo_data_and_models_pass_the_checks(config, tmp_path):
    """No false alarm on the bundled data: the checks run on the built datasets,
    evaluators and model of each demo task without an error or a warning."""
    from mmengine.logging import MMLogger
    from mmengine.runner import Runner

    from visionllama_mm.engine import ModelCheckHook
    cfg = Config.fromfile(config)
    cfg.pop('runner_type', None)
    cfg.work_dir = str(tmp_path)
    check_dataset_files(cfg)
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner._val_loop = runner.build_val_loop(runner._val_loop)
    logged = []
    logger = MMLogger.get_current_instance()
    logger.addFilter(lambda record: logged.append(record) or True)
    hook = DataCheckHook()
    hook.before_run(runner)
    ModelCheckHook().before_run(runner)
    assert [r.getMessage() for r in logged if r.levelname == 'WARNING'] == []
    batch = next(iter(runner.train_dataloader))
    hook.before_train_iter(runner, 0, batch)
