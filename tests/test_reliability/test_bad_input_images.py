"""Data checked against the real files, from their headers (issue 22, item 2): a size
an annotation file declares is compared with the file (a declared 2e9 x 2e9 image with a
polygon at x = 1e9 passed the coordinate check, then pycocotools crashed training), an
image too large to decode and a 16-bit label value that mmseg reads as another class
are errors naming the file, and an image far larger than the rest is a warning."""
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image
from test_bad_input_data import seg_dataset

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.checks import (DataError, check_coco_annotations,
                                          check_dataset, read_header)

DET = 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'
DEMO_COCO = 'data/demo/coco'
CATEGORIES = [dict(id=1, name='circle'), dict(id=2, name='square')]
SQUARE = [20., 20., 60., 20., 60., 60., 20., 60.]


def write_png_of_zeros(path, width, height):
    """A valid 8-bit grayscale PNG of ``width x height`` zeros, compressed row by row
    (a 20000 x 20000 file is 400 kB and never exists in memory)."""

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack(
            '>I',
            zlib.crc32(kind + data) & 0xffffffff)

    compress, row, parts = zlib.compressobj(9), bytes(width + 1), []
    for _ in range(height):
        parts.append(compress.compress(row))
    parts.append(compress.flush())
    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
                chunk(b'IDAT', b''.join(parts)) + chunk(b'IEND', b''))


def coco_dataset(root, images, annotations):
    """An mmdet CocoDataset over ``root/annotations.json`` and ``root/img``."""
    from mmdet.registry import DATASETS
    (root / 'ann.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=CATEGORIES)))
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            dict(
                type='CocoDataset',
                data_root=str(root),
                ann_file='ann.json',
                data_prefix=dict(img='img/'),
                metainfo=dict(classes=('circle', 'square')),
                test_mode=True,
                pipeline=[]))


def demo_image(root, name, size=None):
    """A demo COCO image (128 x 128) copied to ``root/img/name``, resized to
    ``size`` (width, height) if given."""
    (root / 'img').mkdir(exist_ok=True)
    source = f'{DEMO_COCO}/train2017/000000000001.jpg'
    if size is None:
        shutil.copy(source, root / 'img' / name)
    else:
        assert cv2.imwrite(str(root / 'img' / name), cv2.resize(cv2.imread(source), size))
    return str(root / 'img' / name)


def annotation(ann_id, polygon=SQUARE, image_id=1):
    xs, ys = polygon[0::2], polygon[1::2]
    bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        iscrowd=0,
        area=bbox[2] * bbox[3],
        bbox=bbox,
        segmentation=[list(polygon)])


@pytest.mark.parametrize('declared', [(2_000_000_000, 2_000_000_000), (100000, 100000),
                                      (96, 128)])
def test_declared_size_is_checked_against_the_file(tmp_path, declared):
    """The host-crash case: the polygon at x = 1e9 lies inside the declared 2e9 x 2e9
    image, so the coordinate check passed; the file is 128 x 128."""
    path = demo_image(tmp_path, 'a.jpg')
    polygon = [20., 20., 1e9, 20., 60., 60.] if declared[0] > 1e9 else SQUARE
    dataset = coco_dataset(
        tmp_path, [dict(id=7, file_name='a.jpg', width=declared[0], height=declared[1])],
        [annotation(1, polygon, image_id=7)])
    with pytest.raises(
            DataError,
            match=rf'1 images are declared with another size than their file, image '
            rf'ids \[7\] \(1\); e.g. image id 7 is declared {declared[0]}x{declared[1]} '
            rf'\(width x height\) but its file {path} is 128x128'):
        check_dataset(dataset)


def test_declared_size_over_the_pixel_limit_in_an_evaluator_file(tmp_path):
    """An evaluator's COCO file is read without its images: a declared size no file
    can have is an error there too."""
    path = tmp_path / 'val.json'
    path.write_text(
        json.dumps(
            dict(
                images=[dict(id=3, file_name='a.jpg', width=2e9, height=2e9)],
                annotations=[annotation(1, [20., 20., 1e9, 20., 60., 60.], 3)],
                categories=CATEGORIES)))
    check_coco_annotations(str(path))  # the declared size alone: what it was
    with pytest.raises(
            DataError,
            match=r'image declared over max_pixels=178,956,970 \(image ids\): ids \[3\]'):
        check_coco_annotations(str(path), max_pixels=178_956_970)


def test_exif_rotated_jpeg_is_measured_as_decoded(tmp_path):
    """mmcv applies the EXIF orientation: a 64 x 32 file tagged "rotate 90°" decodes
    32 x 64, which is what its annotation must declare."""
    (tmp_path / 'img').mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new('RGB', (64, 32), (200, 10, 10)).save(tmp_path / 'img' / 'r.jpg', exif=exif)
    decoded = cv2.imread(str(tmp_path / 'img' / 'r.jpg'))
    assert decoded.shape[:2] == (64, 32)  # (height, width) as OpenCV decodes it
    header = read_header(str(tmp_path / 'img' / 'r.jpg'))
    assert (header.width, header.height, header.stored) == (32, 64, (64, 32))
    image = dict(id=1, file_name='r.jpg', width=32, height=64)
    check_dataset(
        coco_dataset(tmp_path, [image], [annotation(1, [2., 2., 20., 2., 20., 40.])]))
    with pytest.raises(DataError, match='stored 64x32 with an EXIF orientation'):
        check_dataset(
            coco_dataset(tmp_path, [dict(image, width=64, height=32)],
                         [annotation(1, [2., 2., 20., 2., 20., 20.])]))


def cls_dataset(root):
    """An mmpretrain CustomDataset of every image under ``root`` (no labels)."""
    from mmpretrain.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(
            dict(
                type='CustomDataset',
                data_root=str(root),
                with_label=False,
                pipeline=[],
                extensions=('.png', '.jpeg')))


def test_image_too_large_to_decode_is_named(tmp_path):
    (tmp_path / 'x').mkdir()
    for i in range(3):
        shutil.copy(f'data/demo/imagenet/train/circle/circle_train_000{i}.JPEG',
                    tmp_path / 'x' / f'{i}.jpeg')
    write_png_of_zeros(tmp_path / 'x' / 'huge.png', 20000, 20000)
    assert (tmp_path / 'x' / 'huge.png').stat().st_size < 2_000_000
    with pytest.raises(Image.DecompressionBombError):  # PIL refuses it unnamed
        Image.open(tmp_path / 'x' / 'huge.png')
    dataset = cls_dataset(tmp_path)
    with pytest.raises(
            DataError,
            match=r'1 image files are too large to decode: .*huge.png '
            r'\(20000x20000\)\. .*huge.png has 400,000,000 pixels \(1.1 GiB per decoded '
            r'RGB copy\), over max_pixels=178,956,970'):
        check_dataset(dataset)
    assert check_dataset(dataset, max_pixels=None, outlier_factor=None) == []


def test_one_large_image_among_small_ones_is_a_warning(tmp_path):
    """One 512 x 300 image among 32 px images: its batch is padded to 512 x 300 (that
    iteration took 93 s instead of 0.8 s on the demo, without a word)."""
    (tmp_path / 'x').mkdir()
    for i in range(5):
        shutil.copy(f'data/demo/imagenet/train/circle/circle_train_000{i}.JPEG',
                    tmp_path / 'x' / f'{i}.jpeg')
    big = np.full((300, 512, 3), 127, np.uint8)
    assert cv2.imwrite(str(tmp_path / 'x' / 'big.png'), big)
    warnings = check_dataset(cls_dataset(tmp_path))
    assert len(warnings) == 1, warnings
    assert 'big.png (512x300)' in warnings[0] and \
        '1 image files are over 16x the median area of their dataset (1,024 ' \
        'pixels)' in warnings[0]


def test_16_bit_label_value_that_mmseg_reads_as_another_class(tmp_path):
    label_map = np.ones((128, 128), np.uint16)
    label_map[:8, :8] = 258
    pipeline = [dict(type='LoadAnnotations')]
    dataset = seg_dataset(tmp_path / 'wide', [label_map], pipeline)
    with DefaultScope.overwrite_default_scope('mmseg'):
        loaded = dataset[0]['gt_seg_map']
    # what it was: read as 2 (then 1 after reduce_zero_label), silently
    assert loaded[0, 0] == 2 - 1
    with pytest.raises(
            DataError,
            match=r"label map .*0.png has mode 'I;16' with values 1..258: mmseg reads "
            r'label maps as uint8 .*258 would silently become class 2'):
        check_dataset(dataset)
    # 16-bit files whose values fit in 0..255 read losslessly: accepted
    check_dataset(seg_dataset(tmp_path / 'fits', [np.full((128, 128), 3, np.uint16)]))


@pytest.mark.slow
def test_host_crash_case_stops_before_training(tmp_path):
    """tools/train.py on the detection demo with one image declared 2e9 x 2e9 and a
    polygon at x = 1e9 (it crashed training, rc 139, under this memory limit): an error
    naming the file and the image id, before any iteration."""
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    os.symlink(os.path.abspath(f'{DEMO_COCO}/train2017'), root / 'train2017')
    data = json.loads(open(f'{DEMO_COCO}/annotations/instances_train2017.json').read())
    image = data['images'][0]
    image.update(width=2_000_000_000, height=2_000_000_000)
    ann = next(a for a in data['annotations'] if a['image_id'] == image['id'])
    ann['segmentation'][0][0] = 1e9
    (root / 'annotations' / 'instances_train2017.json').write_text(json.dumps(data))

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (8_000_000_000, 8_000_000_000))

    result = subprocess.run([
        sys.executable, 'tools/train.py', DET, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', f'train_dataloader.dataset.data_root='
        f'{root}/', 'train_cfg.max_epochs=1'
    ],
                            capture_output=True,
                            text=True,
                            timeout=600,
                            preexec_fn=limit_memory)
    log = result.stdout + result.stderr
    assert result.returncode == 1, log[-3000:]
    assert (f"image id {image['id']} is declared 2000000000x2000000000 (width x height) "
            f"but its file {root}/train2017/{image['file_name']} is "
            f"{image_size(root / 'train2017' / image['file_name'])}") in log, log[-3000:]
    assert 'Traceback' not in log and 'Epoch(train)' not in log


def image_size(path):
    with Image.open(path) as image:
        return f'{image.size[0]}x{image.size[1]}'
