"""Safe checkpoints: atomic writes (a real SIGKILL in the middle of a save), resume
falling back from a truncated latest checkpoint, clear errors naming the file, and
training checkpoints that load weights-only as pretrained weights. (The atomic,
checked write itself: ``tests/test_fileio.py``, AtomicLocalBackend.)"""
import logging
from pathlib import Path

import pytest
import torch
from reliability_helpers import PAUSED, finish, make_config, start, train_cmd

from visionllama_mm.engine import AtomicCheckpointHook
from visionllama_mm.fileio import (CheckpointLoadError, checkpoint_candidates,
                                   load_checkpoint_file, save_checkpoint_file)

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SHORT = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
    'train_cfg.val_interval=10', 'val_dataloader.dataset.indices=4',
    'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1'
]


def train(tmp_path, name, config, work, *options, resume=None):
    return finish(
        start(
            train_cmd(config, work, *SHORT, *options, resume=resume),
            tmp_path / f'{name}.log'))


def test_kill_during_save_then_resume_and_corrupt_latest(tmp_path):
    work = tmp_path / 'work'
    # epoch 2's checkpoint (iteration 4) is killed half-written; with
    # max_keep_ckpts=1 mmengine's own hook would already have deleted epoch_1.pth
    dying = make_config(tmp_path, CLS, 'dying',
                        [dict(type='KillDuringSaveHook', at_iter=4)])
    rc, log = train(tmp_path, 'killed', dying, work, 'train_cfg.max_epochs=3',
                    'default_hooks.checkpoint.max_keep_ckpts=1')
    assert rc == -9 and PAUSED in log, log[-3000:]
    assert not (work / 'epoch_2.pth').exists()  # never a truncated file under the name
    assert list(work.glob('.epoch_2.pth.*.tmp'))  # the half-written temporary file
    assert (work / 'epoch_1.pth').is_file()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')

    plain = make_config(tmp_path, CLS, 'plain')
    rc, log = train(
        tmp_path, 'resumed', plain, work, 'train_cfg.max_epochs=3', resume='auto')
    assert rc == 0, log[-3000:]
    assert 'resumed epoch: 1, iter: 2' in log and 'interrupted save' in log
    assert not list(work.glob('.*.tmp'))
    assert {p.name for p in work.glob('epoch_*.pth')} == {'epoch_2.pth', 'epoch_3.pth'}

    # the latest checkpoint gets truncated (disk full, copy cut short, ...)
    latest = work / 'epoch_3.pth'
    latest.write_bytes(latest.read_bytes()[:4096])
    rc, log = train(
        tmp_path, 'fallback', plain, work, 'train_cfg.max_epochs=4', resume='auto')
    assert rc == 0, log[-3000:]
    assert f'cannot resume from {latest}' in log and 'truncated or corrupt' in log
    assert f'falling back to the previous checkpoint {work / "epoch_2.pth"}' in log
    assert 'resumed epoch: 2, iter: 4' in log and (work / 'epoch_4.pth').is_file()

    # an explicit --resume of a bad file never falls back: an error naming it
    latest.write_bytes(b'not a checkpoint')
    rc, log = train(
        tmp_path,
        'explicit',
        plain,
        tmp_path / 'other',
        'train_cfg.max_epochs=4',
        resume=str(latest))
    assert rc != 0 and f'checkpoint {latest} is' in log and 'corrupt' in log
    assert 'Traceback' not in log.split('train.py: error:')[-1]

    # a training checkpoint loads weights-only, e.g. as pretrained weights
    from visionllama_mm.models import VisionLLaMA
    checkpoint = torch.load(work / 'epoch_4.pth', weights_only=True)
    assert checkpoint['meta']['dataset_meta']['classes'] == ('circle', 'square',
                                                             'triangle')
    backbone = VisionLLaMA(
        arch=dict(
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=192,
            ffn_bias=False),
        img_size=32,
        patch_size=4,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(work / 'epoch_4.pth'), prefix='backbone.'))
    backbone.init_weights()
    assert torch.equal(backbone.cls_token, checkpoint['state_dict']['backbone.cls_token'])


class FakeRunner:

    def __init__(self, work_dir):
        self.work_dir = str(work_dir)
        self.logger = logging.getLogger('fake-runner')


def good(path):
    torch.save({'meta': {'iter': 1}, 'state_dict': {'w': torch.ones(1)}}, path)


def test_fallback_order_and_error_when_nothing_loads(tmp_path, caplog):
    for name in ('iter_2.pth', 'iter_9.pth', 'best_acc_iter_9.pth',
                 '.iter_11.pth.123.tmp', 'weights.pth'):
        good(tmp_path / name)
    (tmp_path / 'iter_10.pth').write_bytes(b'bad')
    assert [Path(p).name for p in checkpoint_candidates(str(tmp_path))
            ] == ['iter_10.pth', 'iter_9.pth', 'iter_2.pth']
    hook = AtomicCheckpointHook()
    runner = FakeRunner(tmp_path)
    assert hook._auto_resume_file(runner) is None  # no last_checkpoint: a new run
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    with caplog.at_level(logging.WARNING, logger='fake-runner'):
        assert hook._auto_resume_file(runner) == str(tmp_path / 'iter_9.pth')
    assert 'truncated or corrupt' in caplog.text and 'falling back' in caplog.text
    (tmp_path / 'last_checkpoint').write_text('')  # an empty last_checkpoint
    assert hook._auto_resume_file(runner) == str(tmp_path / 'iter_9.pth')

    for name in ('iter_9.pth', 'iter_2.pth'):
        (tmp_path / name).write_bytes(b'bad')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    with pytest.raises(
            CheckpointLoadError,
            match='no loadable checkpoint.*iter_10.pth'
            '.*iter_9.pth.*iter_2.pth'):
        hook._auto_resume_file(runner)


def test_published_keys_publish_a_hash_named_file_without_config_text(tmp_path):
    last = tmp_path / 'epoch_3.pth'
    save_checkpoint_file(
        {
            'meta': {
                'epoch': 3,
                'cfg': 'model = dict()'
            },
            'state_dict': {
                'w': torch.ones(2)
            },
            'optimizer': {}
        }, str(last))
    hook = AtomicCheckpointHook(published_keys=['meta', 'state_dict'], save_last=True)
    hook.last_ckpt = str(last)
    hook.after_train(FakeRunner(tmp_path))
    published = next(tmp_path.glob('epoch_3-*.pth'))  # mmengine's name pattern
    load_checkpoint_file(str(published))  # its name matches the file's SHA-256
    data = torch.load(published, weights_only=True)
    assert set(data) == {'meta', 'state_dict'} and data['meta'] == {'epoch': 3}
