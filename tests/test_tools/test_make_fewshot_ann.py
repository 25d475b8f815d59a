"""tools/misc/make_fewshot_ann.py on the bundled demo ImageNet layout."""
import importlib.util
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location('make_fewshot_ann',
                                              'tools/misc/make_fewshot_ann.py')
fewshot = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(fewshot)

DEMO = Path('data/demo/imagenet')


def _lines(path):
    return [tuple(line.rsplit(maxsplit=1)) for line in path.read_text().splitlines()]


def test_k_shot_file_from_the_ann_file_loads_in_mmpretrain(tmp_path):
    out = tmp_path / 'train_5shot.txt'
    subprocess.run([
        sys.executable, 'tools/misc/make_fewshot_ann.py',
        str(DEMO), '--shots', '5', '--seed', '1', '--out',
        str(out)
    ],
                   check=True,
                   capture_output=True)
    lines = _lines(out)
    assert Counter(label for _, label in lines) == {'0': 5, '1': 5, '2': 5}
    full = set(_lines(DEMO / 'meta' / 'train.txt'))
    assert set(lines) <= full and len(set(lines)) == 15

    from mmpretrain.datasets import ImageNet
    dataset = ImageNet(
        data_root=str(DEMO),
        split='train',
        ann_file=str(out.resolve()),
        classes=('circle', 'square', 'triangle'))
    assert len(dataset) == 15
    assert Path(dataset.get_data_info(0)['img_path']).is_file()


def test_folder_mode_gives_the_same_subset_and_seeds_differ(tmp_path):
    root = tmp_path / 'imagenet'
    shutil.copytree(DEMO / 'train', root / 'train')  # no meta/: folder mode
    samples = fewshot.read_samples(root, 'train')
    from_folders = fewshot.sample_k_shot(samples, 4, seed=0)
    from_ann = fewshot.sample_k_shot(fewshot.read_samples(DEMO, 'train'), 4, seed=0)
    assert from_folders == from_ann
    assert fewshot.sample_k_shot(samples, 4, seed=1) != from_folders


def test_errors():
    samples = [('a/1.png', 0), ('a/2.png', 0), ('b/1.png', 1)]
    with pytest.raises(ValueError, match='class 1 has only 1 images'):
        fewshot.sample_k_shot(samples, 2, seed=0)
    assert len(fewshot.sample_k_shot(samples, 2, seed=0, allow_fewer=True)) == 3
    with pytest.raises(ValueError, match='--shots must be >= 1'):
        fewshot.sample_k_shot(samples, 0, seed=0)
    with pytest.raises(FileNotFoundError, match='neither'):
        fewshot.read_samples(Path('/nonexistent'), 'train')
