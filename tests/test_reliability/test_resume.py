"""Exact resume: a demo run SIGKILLed at an arbitrary iteration and restarted with
``tools/train.py --resume`` ends bit-identical (weights, optimizer, schedulers, logged
losses) to a run that was never interrupted; CPU, deterministic mode, for the
classification, segmentation and detection demo configs, and for the classification
demo run by mmpretrain's own ``tools/train.py`` (the configs' ``ReliableRunner``)."""
import pytest
import torch
from reliability_helpers import (assert_same, finish, logged_train_scalars, make_config,
                                 run_until_marker_then_kill, start, train_cmd,
                                 upstream_tool)

DETERMINISTIC = [
    'randomness.deterministic=True', 'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=1'
]
CASES = {
    # epoch-based, 2 iterations per epoch, killed in the middle of epoch 2: the
    # resumed run repeats epoch 2 from the epoch-1 checkpoint
    'classification':
    dict(
        config='configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py',
        kill_after=3,
        final='epoch_3.pth',
        options=[
            'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
            'train_cfg.max_epochs=3', 'train_cfg.val_interval=2',
            'val_dataloader.dataset.indices=4'
        ]),
    'classification-upstream-tool':
    dict(
        config='configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py',
        kill_after=3,
        final='epoch_3.pth',
        tool=('mmpretrain', 'train.py'),
        options=[
            'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
            'train_cfg.max_epochs=3', 'train_cfg.val_interval=2',
            'val_dataloader.dataset.indices=4'
        ]),
    # iteration-based, a checkpoint every iteration, validation at iteration 2 and 4
    'segmentation':
    dict(
        config='configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py',
        kill_after=4,
        final='iter_6.pth',
        options=[
            'train_dataloader.batch_size=2', 'train_cfg.max_iters=6',
            'train_cfg.val_interval=2', 'val_dataloader.dataset.indices=2',
            'default_hooks.checkpoint.by_epoch=False'
        ]),
    # epoch-based Mask R-CNN (RoI sampling draws from torch's generator)
    'detection':
    dict(
        config='configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py',
        kill_after=3,
        final='epoch_3.pth',
        options=[
            'train_dataloader.batch_size=2', 'train_dataloader.dataset.indices=4',
            'train_cfg.max_epochs=3', 'train_cfg.val_interval=10',
            'val_dataloader.dataset.indices=2'
        ]),
}


@pytest.mark.parametrize('task', list(CASES))
def test_killed_and_resumed_run_is_bit_identical(task, tmp_path):
    case = CASES[task]
    options = [*DETERMINISTIC, *case['options']]
    plain = make_config(tmp_path, case['config'], 'plain')
    pausing = make_config(tmp_path, case['config'], 'pausing',
                          [dict(type='PauseHook', at_iter=case['kill_after'])])
    ref_dir, work = tmp_path / 'uninterrupted', tmp_path / 'interrupted'
    tool = upstream_tool(*case['tool']) if 'tool' in case else 'tools/train.py'

    # the uninterrupted run and the run to kill, side by side (one core each)
    reference = start(
        train_cmd(plain, ref_dir, *options, tool=tool), tmp_path / 'ref.log')
    killed_log = run_until_marker_then_kill(
        train_cmd(pausing, work, *options, tool=tool), tmp_path / 'killed.log')
    assert 'Traceback' not in killed_log
    rc, ref_log = finish(reference)
    assert rc == 0, ref_log[-3000:]

    rc, resumed_log = finish(
        start(
            train_cmd(plain, work, *options, resume='auto', tool=tool),
            tmp_path / 'resumed.log'))
    assert rc == 0, resumed_log[-3000:]
    assert 'resumed epoch' in resumed_log, resumed_log[-3000:]
    assert 'no random state' not in resumed_log and 'mid-epoch' not in resumed_log

    assert 'AtomicCheckpointHook' in resumed_log and 'RandomStateHook' in resumed_log
    # every checkpoint of the runs loads weights-only
    ref = torch.load(ref_dir / case['final'], map_location='cpu', weights_only=True)
    got = torch.load(work / case['final'], map_location='cpu', weights_only=True)
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_same(ref[key], got[key], key)
    assert ref['meta']['iter'] == got['meta']['iter']

    ref_scalars, got_scalars = logged_train_scalars(ref_dir), logged_train_scalars(work)
    assert sorted(ref_scalars) == sorted(got_scalars) == list(
        range(1, ref['meta']['iter'] + 1))
    assert ref_scalars == got_scalars  # losses, lr, grad norm of every iteration
