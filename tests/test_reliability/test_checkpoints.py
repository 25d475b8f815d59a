"""Safe checkpoints: atomic writes (a real SIGKILL in the middle of a save), resume
falling back from a truncated latest checkpoint, clear errors naming the file, and
weights-only loading for pretrained weights."""
import os
from pathlib import Path

import pytest
from mmengine.runner import Runner

from reliability_helpers import PAUSED, finish, make_config, start, train_cmd
from visionllama_mm.compat import CheckpointLoadError
from visionllama_mm.engine.checkpointing import (_atomic_save, _resume_with_fallback,
                                                 checkpoint_candidates)

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SHORT = ['train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
         'train_cfg.val_interval=10', 'val_dataloader.dataset.indices=4',
         'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']


def train(tmp_path, name, config, work, *options, resume=None):
    return finish(start(train_cmd(config, work, *SHORT, *options, resume=resume),
                        tmp_path / f'{name}.log'))


def test_kill_during_save_then_resume_and_corrupt_latest(tmp_path):
    work = tmp_path / 'work'
    # epoch 2's checkpoint (iteration 4) is killed half-written; with
    # max_keep_ckpts=1 mmengine's own hook would already have deleted epoch_1.pth
    dying = make_config(tmp_path, CLS, 'dying', [dict(type='KillDuringSaveHook',
                                                      at_iter=4)])
    rc, log = train(tmp_path, 'killed', dying, work, 'train_cfg.max_epochs=3',
                    'default_hooks.checkpoint.max_keep_ckpts=1')
    assert rc == -9 and PAUSED in log, log[-3000:]
    assert not (work / 'epoch_2.pth').exists()  # never a truncated file under the name
    assert list(work.glob('.epoch_2.pth.*.tmp'))  # the half-written temporary file
    assert (work / 'epoch_1.pth').is_file()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')

    plain = make_config(tmp_path, CLS, 'plain')
    rc, log = train(tmp_path, 'resumed', plain, work, 'train_cfg.max_epochs=3',
                    resume='auto')
    assert rc == 0, log[-3000:]
    assert 'resumed epoch: 1, iter: 2' in log and 'interrupted save' in log
    assert not list(work.glob('.*.tmp'))
    assert {p.name for p in work.glob('epoch_*.pth')} == {'epoch_2.pth', 'epoch_3.pth'}

    # the latest checkpoint gets truncated (disk full, copy cut short, ...)
    latest = work / 'epoch_3.pth'
    latest.write_bytes(latest.read_bytes()[:4096])
    rc, log = train(tmp_path, 'fallback', plain, work, 'train_cfg.max_epochs=4',
                    resume='auto')
    assert rc == 0, log[-3000:]
    assert f'cannot resume from {latest}' in log and 'truncated or corrupt' in log
    assert f'falling back to the previous checkpoint {work / "epoch_2.pth"}' in log
    assert 'resumed epoch: 2, iter: 4' in log and (work / 'epoch_4.pth').is_file()

    # an explicit --resume of a bad file never falls back: an error naming it
    latest.write_bytes(b'not a checkpoint')
    rc, log = train(tmp_path, 'explicit', plain, tmp_path / 'other',
                    'train_cfg.max_epochs=4', resume=str(latest))
    assert rc != 0 and f'checkpoint {latest} is' in log and 'corrupt' in log
    assert 'Traceback' not in log.split('train.py: error:')[-1]

    # a training checkpoint offered as pretrained weights: weights-only refuses it
    from visionllama_mm.models import VisionLLaMA
    backbone = VisionLLaMA(
        arch=dict(embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=192),
        img_size=32, patch_size=4,
        init_cfg=dict(type='Pretrained', checkpoint=str(work / 'epoch_4.pth'),
                      prefix='backbone.'))
    with pytest.raises(CheckpointLoadError, match=f'{work / "epoch_4.pth"}.*--resume'):
        backbone.init_weights()


class FakeRunner:
    def __init__(self, work_dir, load_from=None):
        self.work_dir, self._resume, self._load_from = str(work_dir), True, load_from
        self.loaded = []


def fake_resume(runner, filename):
    if Path(filename or '/nonexistent').read_bytes() != b'good':
        raise CheckpointLoadError(f'checkpoint {filename} is truncated or corrupt')
    runner.loaded.append(filename)


def test_fallback_order_and_error_when_nothing_loads(tmp_path):
    for name, data in [('iter_2.pth', b'good'), ('iter_10.pth', b'bad'),
                       ('iter_9.pth', b'good'), ('best_acc_iter_9.pth', b'good'),
                       ('.iter_11.pth.123.tmp', b'good'), ('weights.pth', b'good')]:
        (tmp_path / name).write_bytes(data)
    assert [Path(p).name for p in checkpoint_candidates(str(tmp_path))] == [
        'iter_10.pth', 'iter_9.pth', 'iter_2.pth']
    resume = _resume_with_fallback(fake_resume)
    runner = FakeRunner(tmp_path)
    resume(runner, str(tmp_path / 'iter_10.pth'))  # last_checkpoint -> corrupt file
    assert runner.loaded == [str(tmp_path / 'iter_9.pth')]
    resume(runner, '')  # an empty last_checkpoint
    assert runner.loaded[-1] == str(tmp_path / 'iter_9.pth')

    for name in ('iter_9.pth', 'iter_2.pth'):
        (tmp_path / name).write_bytes(b'bad')
    with pytest.raises(CheckpointLoadError, match='no loadable checkpoint.*iter_10.pth'
                       '.*iter_9.pth.*iter_2.pth'):
        resume(FakeRunner(tmp_path), str(tmp_path / 'iter_10.pth'))
    # an explicit path (load_from) is never replaced by another file
    with pytest.raises(CheckpointLoadError, match='iter_10.pth'):
        resume(FakeRunner(tmp_path, load_from='x'), str(tmp_path / 'iter_10.pth'))


def test_runner_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    """In-process: an exception in the middle of the write leaves the old file."""
    from mmengine.fileio import LocalBackend
    target = tmp_path / 'iter_1.pth'
    target.write_bytes(b'previous good file')

    def failing_put(backend, obj, filepath):
        Path(filepath).write_bytes(obj[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalBackend, 'put', failing_put)

    def save(self, out_dir, filename, file_client_args=None, backend_args=None):
        LocalBackend().put(b'0123456789' * 10, os.path.join(out_dir, filename))

    with pytest.raises(KeyboardInterrupt):
        _atomic_save(save)(Runner.__new__(Runner), str(tmp_path), 'iter_1.pth')
    assert target.read_bytes() == b'previous good file'
    assert not list(tmp_path.glob('.*.tmp'))
