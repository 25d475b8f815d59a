"""A run of our backbones under mmengine's plain ``Runner`` with its ``CheckpointHook``
would write checkpoints that pickle the message hub (which mmseg's own ``test.py`` and
``publish_model.py`` then refuse): OpenMMLab's own ``tools/train.py`` (from the wheels'
``.mim``) stops it before the first iteration with the one config line that fixes it,
also when a ``ReliableRunner`` run is resumed without its ``runner_type``."""
import hashlib
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import train_cmd, upstream_tool

FIX = "runner_type = 'visionllama_mm.ReliableRunner'"
CONFIG = 'configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py'
SHORT = ('train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2', 'val_dataloader.dataset.indices=2')


def train(work_dir: Path, *options: str, resume=None) -> subprocess.CompletedProcess:
    """mmseg's own ``train.py`` on the seg demo, shortened (plus ``options``)."""
    cmd = train_cmd(
        CONFIG,
        work_dir,
        *SHORT,
        *options,
        resume=resume,
        tool=upstream_tool('mmseg', 'train.py'))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def assert_refused(result: subprocess.CompletedProcess) -> None:
    assert result.returncode != 0, result.stdout[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert 'IncompatibleConfigError' in last and FIX in last, result.stderr[-3000:]
    assert "mmengine's CheckpointHook" in last
    assert 'Iter(train)' not in result.stdout + result.stderr  # before the first one


def digests(folder: Path) -> dict:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.glob('*.pth')
    }


@pytest.mark.slow
def test_plain_runner_is_refused_before_training(tmp_path):
    result = train(tmp_path, 'runner_type=Runner')
    assert_refused(result)
    assert digests(tmp_path) == {}


@pytest.mark.slow
def test_resume_without_runner_type_is_refused(tmp_path):
    first = train(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    written = digests(tmp_path)
    assert set(written) == {'iter_2.pth'}
    again = train(tmp_path, 'runner_type=Runner', 'train_cfg.max_iters=4', resume='auto')
    assert_refused(again)
    assert digests(tmp_path) == written  # nothing pickled, nothing overwritten
