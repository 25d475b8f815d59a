"""Generate the tiny synthetic "shapes" demo dataset under ``data/demo``.

Every image has a smooth, slightly noisy coloured background and one or more
filled shapes (circle, square, triangle) of random position, size and colour;
squares and triangles are slightly rotated. Shapes are always drawn as
polygons, so image pixels, segmentation masks and COCO polygons agree.

Three layouts are written, each as the OpenMMLab 2.x datasets read it:

* ``imagenet/`` - mmpretrain ``ImageNet``/``CustomDataset``: 32x32, one shape
  per image, ``{train,val}/<class>/<name>.JPEG`` and ``meta/{train,val,classes}.txt``.
* ``ade/`` - mmseg ``ADE20KDataset`` (``reduce_zero_label=True``): 128x128,
  1-3 shapes (may overlap; the later one wins). Masks are mode 'L' PNGs with
  0 = unused, 1 = background, 2 = circle, 3 = square, 4 = triangle.
* ``coco/`` - mmdet ``CocoDataset``: 128x128, 1-3 non-overlapping shapes,
  ``{train,val}2017/*.jpg`` and ``annotations/instances_{train,val}2017.json``.

The output is deterministic for a given ``--seed`` (byte-identical reruns).

Usage::

    python tools/misc/make_demo_data.py [--out data/demo] [--seed 0]
"""
from __future__ import annotations
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ('circle', 'square', 'triangle')
JPEG_QUALITY = 90
Polygon = list[tuple[float, float]]


def make_background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth colour field (upsampled 3x3 grid around a base colour)."""
    base = rng.uniform(30, 225, size=3)
    grid = np.clip(base + rng.uniform(-35, 35, size=(3, 3, 3)), 0, 255)
    img = Image.fromarray(grid.astype(np.uint8)).resize((size, size), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32), base


def shape_colour(rng: np.random.Generator, base: np.ndarray) -> tuple[int, int, int]:
    """A random colour far enough from the background's base colour."""
    while True:
        colour = rng.uniform(0, 255, size=3)
        if np.linalg.norm(colour - base) > 140:
            return tuple(int(c) for c in colour)


def shape_polygon(rng: np.random.Generator, cls: str, cx: float, cy: float,
                  r: float) -> Polygon:
    """Polygon of a shape of size ``r`` (circumradius-like) centred at (cx, cy)."""
    if cls == 'circle':
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        radius = r
    elif cls == 'square':
        angles = np.deg2rad(45 + 90 * np.arange(4) + rng.uniform(-15, 15))
        radius = r
    else:  # triangle, apex up
        angles = np.deg2rad(-90 + 120 * np.arange(3) + rng.uniform(-15, 15))
        radius = r * 1.15
    return [(round(float(cx + radius * np.cos(a)),
                   2), round(float(cy + radius * np.sin(a)), 2)) for a in angles]


def polygon_area(poly: Polygon) -> float:
    xs, ys = np.array(poly).T
    return float(0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))


def render(
    rng: np.random.Generator,
    size: int,
    n_shapes: int,
    r_range: tuple[float, float],
    classes: list[int] | None = None,
    overlap: bool = True,
) -> tuple[Image.Image, Image.Image, list[tuple[int, Polygon]]]:
    """Draw ``n_shapes`` shapes; return (RGB image, 'L' mask, [(label, polygon)])."""
    bg, base = make_background(rng, size)
    img = Image.fromarray(bg.astype(np.uint8))
    mask = Image.new('L', (size, size), 1)
    draw, mdraw = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    placed: list[tuple[float, float, float]] = []
    shapes: list[tuple[int, Polygon]] = []
    for i in range(n_shapes):
        label = classes[i] if classes else int(rng.integers(len(CLASSES)))
        for _ in range(1000):
            r = rng.uniform(*r_range)
            m = r * 1.15 + 1  # keep the whole shape inside the image
            cx, cy = rng.uniform(m, size - m, size=2)
            if overlap or all(
                    np.hypot(cx - x, cy - y) > (r + q) * 1.15 + 3 for x, y, q in placed):
                break
        else:
            continue  # no free spot; fewer shapes in this image
        placed.append((cx, cy, r))
        poly = shape_polygon(rng, CLASSES[label], cx, cy, r)
        draw.polygon(poly, fill=shape_colour(rng, base))
        mdraw.polygon(poly, fill=label + 2)
        shapes.append((label, poly))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, size=(size, size, 3))
    img = Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8))
    return img, mask, shapes


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def make_imagenet(root: Path, seed: int, counts: dict[str, int]) -> None:
    rng = np.random.default_rng([seed, 0])
    fresh_dir(root)
    (root / 'meta').mkdir()
    (root / 'meta' / 'classes.txt').write_text(''.join(c + '\n' for c in CLASSES))
    for split, per_class in counts.items():
        lines = []
        for label, cls in enumerate(CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                img, _, _ = render(rng, 32, 1, (7, 12), classes=[label])
                name = f'{cls}/{cls}_{split}_{i:04d}.JPEG'
                img.save(root / split / name, format='JPEG', quality=JPEG_QUALITY)
                lines.append(f'{name} {label}\n')
        (root / 'meta' / f'{split}.txt').write_text(''.join(lines))


def make_ade(root: Path, seed: int, counts: dict[str, int]) -> None:
    rng = np.random.default_rng([seed, 1])
    fresh_dir(root)
    for split, n in counts.items():
        img_dir = root / 'images' / split
        ann_dir = root / 'annotations' / split
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        tag = 'train' if split == 'training' else 'val'
        for i in range(n):
            img, mask, _ = render(rng, 128, int(rng.integers(1, 4)), (10, 28))
            name = f'ADE_{tag}_{i + 1:08d}'
            img.save(img_dir / f'{name}.jpg', format='JPEG', quality=JPEG_QUALITY)
            mask.save(ann_dir / f'{name}.png', format='PNG')


def make_coco(root: Path, seed: int, counts: dict[str, int]) -> None:
    rng = np.random.default_rng([seed, 2])
    fresh_dir(root)
    (root / 'annotations').mkdir()
    categories = [
        dict(id=i + 1, name=c, supercategory='shape') for i, c in enumerate(CLASSES)
    ]
    for split, n in counts.items():
        (root / split).mkdir()
        images, anns = [], []
        for i in range(n):
            img, _, shapes = render(
                rng, 128, int(rng.integers(1, 4)), (10, 26), overlap=False)
            file_name = f'{i + 1:012d}.jpg'
            img.save(root / split / file_name, format='JPEG', quality=JPEG_QUALITY)
            images.append(dict(id=i + 1, file_name=file_name, width=128, height=128))
            for label, poly in shapes:
                xs, ys = np.array(poly).T
                x0, y0 = float(xs.min()), float(ys.min())
                anns.append(
                    dict(
                        id=len(anns) + 1,
                        image_id=i + 1,
                        category_id=label + 1,
                        segmentation=[[c for xy in poly for c in xy]],
                        area=round(polygon_area(poly), 2),
                        bbox=[
                            x0, y0,
                            round(float(xs.max()) - x0, 2),
                            round(float(ys.max()) - y0, 2)
                        ],
                        iscrowd=0))
        dataset = dict(
            info=dict(description='visionllama_mm synthetic shapes demo', version='1.0'),
            licenses=[],
            images=images,
            annotations=anns,
            categories=categories)
        with open(root / 'annotations' / f'instances_{split}.json', 'w') as f:
            json.dump(dataset, f, separators=(',', ':'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/demo', help='output root folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args()
    out = Path(args.out)
    make_imagenet(out / 'imagenet', args.seed, {'train': 600, 'val': 100})
    make_ade(out / 'ade', args.seed, {'training': 400, 'validation': 50})
    make_coco(out / 'coco', args.seed, {'train2017': 80, 'val2017': 20})
    print(f'Wrote synthetic shapes demo data to {out} (seed {args.seed}):')
    for sub in ('imagenet', 'ade', 'coco'):
        files = [p for p in (out / sub).rglob('*') if p.is_file()]
        mb = sum(p.stat().st_size for p in files) / 2**20
        print(f'  {sub:9s} {len(files):4d} files, {mb:.2f} MiB')
    print(f'  classes: {CLASSES} (ade masks: 1=background, 2..4 = classes, 0 unused)')


if __name__ == '__main__':
    main()
