"""Checkpoints are loaded strictly and checked: another model's checkpoint, a list or
NaN weights are errors naming the file (issue 12: no silent garbage); the finite-loss
stop names a checkpoint with finite weights and advice that works; the best
checkpoint is rotated write-then-remove."""
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint
from reliability_helpers import finish, make_config, start, train_cmd

from visionllama_mm.engine import AtomicCheckpointHook
from visionllama_mm.fileio import save_checkpoint_file

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
OTHER = 'configs/demo/vit-tiny-p8_map_demo-shapes.py'
SHORT = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
    'val_dataloader.dataset.indices=4', 'test_dataloader.dataset.indices=4',
    'default_hooks.logger.interval=1'
]


def tool(*args):
    result = subprocess.run([sys.executable, *args],
                            capture_output=True,
                            text=True,
                            timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp('trained')
    rc, log = tool('tools/train.py', CLS, '--work-dir', str(work), '--cfg-options',
                   *SHORT, 'train_cfg.max_epochs=1',
                   'default_hooks.checkpoint.interval=1')
    assert rc == 0, log[-3000:]
    return work / 'epoch_1.pth'


def test_testing_another_models_checkpoint_fails(trained, tmp_path):
    rc, log = tool('tools/test.py', OTHER, str(trained), '--work-dir', str(tmp_path),
                   '--cfg-options', *SHORT)
    assert rc != 0 and f'checkpoint {trained} does not match' in log, log[-3000:]
    assert 'unexpected' in log and 'strict_load=False' in log
    rc, log = tool('tools/test.py', CLS, str(trained), '--work-dir', str(tmp_path),
                   '--cfg-options', *SHORT)
    assert rc == 0 and 'accuracy/top1' in log, log[-3000:]


def test_load_from_another_model_is_an_error_unless_partial_is_intended(
        trained, tmp_path):
    args = [
        'tools/train.py', OTHER, '--work-dir',
        str(tmp_path), '--cfg-options', *SHORT, 'train_cfg.max_epochs=1',
        f'load_from={trained}'
    ]
    rc, log = tool(*args)
    assert rc != 0 and 'does not match' in log and 'missing' in log, log[-3000:]
    rc, log = tool(*args, 'default_hooks.checkpoint.strict_load=False')
    assert rc == 0, log[-3000:]


@pytest.mark.parametrize(
    'content, message',
    [
        ([torch.ones(2)], 'holds a list, not a checkpoint dict'),
        (torch.ones(2), 'holds a Tensor, not a checkpoint dict'),
        ('nan', 'model tensors hold NaN or inf'),  # ModelCheckHook, after loading
    ])
def test_bad_checkpoint_content_is_named(trained, tmp_path, content, message):
    bad = tmp_path / 'bad.pth'
    if content == 'nan':  # a run's checkpoint with NaN weights (its SHA-256s hold)
        checkpoint = torch.load(trained, weights_only=True)
        checkpoint['state_dict']['backbone.cls_token'].fill_(float('nan'))
        save_checkpoint_file(checkpoint, str(bad))
    else:
        torch.save(content, bad)
    rc, log = tool('tools/test.py', CLS, str(bad), '--work-dir', str(tmp_path),
                   '--cfg-options', *SHORT)
    assert rc != 0 and str(bad) in log and message in log, log[-3000:]
    assert 'Traceback' not in log


def test_non_finite_loss_names_a_checkpoint_with_finite_weights(tmp_path):
    # iteration 2's optimizer step leaves NaN weights, which its checkpoint holds;
    # iteration 3's loss is NaN: the advice must name iteration 1's checkpoint
    config = make_config(tmp_path, CLS, 'poisoned',
                         [dict(type='NaNWeightsAfterIterHook', at_iter=2)])
    options = [
        *SHORT, 'train_cfg.max_epochs=3', 'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1', 'train_cfg.val_interval=10'
    ]
    rc, log = finish(
        start(train_cmd(config, tmp_path / 'run', *options), tmp_path / 'run.log'))
    first = tmp_path / 'run' / 'iter_1.pth'
    assert rc != 0 and 'non-finite loss at iteration 3' in log, log[-3000:]
    assert 'the last healthy checkpoint (finite weights, saved before the loss left ' \
        f'its normal range) is {first}' in log
    assert 'weights finite=False' in log  # iteration 2's checkpoint, logged

    # the advice works: a new run from those weights with a lower learning rate
    advice = log.split('`tools/train.py CONFIG --cfg-options ')[1].split('`')[0]
    overrides = [a.replace('<lower>', '1e-4') for a in advice.split()]
    rc, log = tool('tools/train.py', CLS, '--work-dir', str(tmp_path / 'again'),
                   '--cfg-options', *SHORT, 'train_cfg.max_epochs=1', *overrides)
    assert rc == 0, log[-3000:]
    assert f'Load checkpoint from {first}' in log


class BestRunner:
    """What CheckpointHook._save_best_checkpoint uses of a runner; its save_checkpoint
    writes as ``Runner.save_checkpoint`` does (mmengine's ``save_checkpoint`` through
    the hook's ``backend_args``), or is killed before the new file is complete."""

    def __init__(self, work_dir, epoch):
        self.work_dir, self.epoch, self.iter = str(work_dir), epoch, epoch * 2
        self.message_hub = MessageHub.get_instance(f'best-{work_dir}')
        self.logger = logging.getLogger('best-runner')
        self.dying = False

    def save_checkpoint(self, out_dir, filename, file_client_args=None, **kwargs):
        if self.dying:  # killed while the new best file is being serialised
            raise KeyboardInterrupt
        checkpoint = {'state_dict': {'w': torch.ones(10)}}
        path = str(Path(out_dir) / filename)
        save_checkpoint(checkpoint, path, backend_args=kwargs.get('backend_args'))


def test_best_checkpoint_is_written_before_the_old_one_is_removed(tmp_path):
    hook = AtomicCheckpointHook(
        save_best='accuracy', rule='greater', out_dir=str(tmp_path))
    hook.out_dir = str(tmp_path)
    from mmengine.fileio import get_file_backend
    hook.file_backend = get_file_backend(str(tmp_path), backend_args=hook.backend_args)
    runner = BestRunner(tmp_path, epoch=1)
    hook._save_best_checkpoint(runner, {'accuracy': 0.5})
    first = tmp_path / 'best_accuracy_epoch_1.pth'
    assert first.is_file()

    runner.epoch, runner.dying = 2, True
    with pytest.raises(KeyboardInterrupt):
        hook._save_best_checkpoint(runner, {'accuracy': 0.7})
    assert first.is_file()  # mmengine's own back end would have removed it already
    assert not (tmp_path / 'best_accuracy_epoch_2.pth').exists()

    runner.dying = False
    hook._save_best_checkpoint(runner, {'accuracy': 0.8})
    assert not first.exists() and (tmp_path / 'best_accuracy_epoch_2.pth').is_file()
    assert runner.message_hub.get_info('best_score') == 0.8
