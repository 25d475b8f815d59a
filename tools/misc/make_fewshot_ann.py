"""Write a k-shot annotation file (``path label`` lines) from an ImageNet-layout dataset.

The few-shot evaluations of "Scaling Vision Transformers" (e.g. 10-shot ImageNet) train
on ``k`` images per class of the train split. This samples them reproducibly:

* from ``ROOT/meta/<split>.txt`` if it exists (mmpretrain's ``path label`` format), else
* from the folders ``ROOT/<split>/<class>/<image>`` (labels = sorted class folders,
  the order mmpretrain's folder mode and ImageNet's ``meta/train.txt`` use).

Candidates of each class are sorted by path, then ``k`` are drawn with
``random.Random(seed)``, so the same seed gives the same subset in both modes. The
output lines are relative to ``ROOT/<split>`` like ``meta/train.txt``; use it as
``dataset=dict(split='train', ann_file='meta/train_10shot.txt')``.

Usage: python tools/misc/make_fewshot_ann.py ROOT --shots 10 --seed 0 \
           --out ROOT/meta/train_10shot.txt
"""
import argparse
import random
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


def read_samples(root: Path, split: str) -> List[Tuple[str, int]]:
    """``(relative path, label)`` of every image of ``split``."""
    ann = root / 'meta' / f'{split}.txt'
    if ann.is_file():
        samples = []
        for number, line in enumerate(ann.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{ann}:{number}: expected "path label", got {line!r}')
            samples.append((parts[0], int(parts[1])))
        return samples
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f'neither {ann} nor {folder}/<class>/ exists')
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not classes:
        raise FileNotFoundError(f'{folder} has no class folders')
    return [(f'{name}/{image.name}', label) for label, name in enumerate(classes)
            for image in sorted((folder / name).iterdir())
            if image.suffix.lower() in IMG_EXTENSIONS]


def sample_k_shot(samples: List[Tuple[str, int]],
                  shots: int,
                  seed: int,
                  allow_fewer: bool = False) -> List[Tuple[str, int]]:
    """``shots`` samples per label, reproducible for a seed; sorted by label, path."""
    if shots < 1:
        raise ValueError(f'--shots must be >= 1, got {shots}')
    by_label: Dict[int, List[str]] = defaultdict(list)
    for path, label in samples:
        by_label[label].append(path)
    rng = random.Random(seed)
    chosen = []
    for label in sorted(by_label):
        paths = sorted(by_label[label])
        if len(paths) < shots and not allow_fewer:
            raise ValueError(f'class {label} has only {len(paths)} images (< {shots}); '
                             'pass --allow-fewer to keep them all')
        picked = rng.sample(paths, min(shots, len(paths)))
        chosen += [(path, label) for path in sorted(picked)]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('root', type=Path, help='dataset root (ImageNet layout)')
    parser.add_argument('--split', default='train')
    parser.add_argument('--shots', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out',
        type=Path,
        help='defaults to ROOT/meta/'
        '<split>_<shots>shot[_seed<seed>].txt')
    parser.add_argument(
        '--allow-fewer',
        action='store_true',
        help='keep classes with fewer than --shots images')
    args = parser.parse_args()
    chosen = sample_k_shot(
        read_samples(args.root, args.split), args.shots, args.seed, args.allow_fewer)
    suffix = f'_seed{args.seed}' if args.seed else ''
    out = args.out or args.root / 'meta' / f'{args.split}_{args.shots}shot{suffix}.txt'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(''.join(f'{path} {label}\n' for path, label in chosen))
    print(f'wrote {len(chosen)} samples ({args.shots} per class, seed {args.seed}) '
          f'to {out}')


if __name__ == '__main__':
    main()
