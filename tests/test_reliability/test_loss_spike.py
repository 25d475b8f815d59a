"""Divergence that stays finite (issue 22, item 4): ``FiniteLossHook`` stops a run whose
loss stays far above its running median and names the last checkpoint saved before
the loss left its normal range; a run started from it with a lower learning rate is
finite. Before, ``lr=10`` took the demo's loss from 1.1 to 640 with rc 0, and at
``lr=1000`` the NaN advice named ``iter_3.pth`` (finite weights, ``max |w|`` in the
thousands), from which a run diverges again at any learning rate."""
import logging
import re
import types

import pytest
from mmengine.config import Config
from mmengine.logging import MessageHub
from reliability_helpers import train_args

import visionllama_mm  # noqa: F401
from visionllama_mm.engine import FiniteLossHook, LossSpikeError, NonFiniteLossError
from visionllama_mm.utils import build_runner, prepare_train_config

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
# 60 images, 20 per class (the annotation file lists the classes one after the other)
BALANCED = list(range(0, 1800, 30))


def train(work_dir, lr, max_epochs, custom_hooks=(), **options):
    """The classification demo on 60 images (5 iterations per epoch, the demo's
    warm-up over the first 10), a checkpoint after every iteration."""
    cfg = Config.fromfile(CLS)
    cfg.custom_hooks = list(custom_hooks)
    cfg.train_dataloader.dataset.indices = BALANCED
    args = train_args(
        CLS, work_dir, **{
            'optim_wrapper.optimizer.lr': lr,
            'train_dataloader.batch_size': 12,
            'train_cfg.max_epochs': max_epochs,
            'train_cfg.val_interval': 100,
            'val_dataloader.dataset.indices': 4,
            'default_hooks.logger.interval': 1,
            'log_processor.window_size': 1,
            'default_hooks.checkpoint.by_epoch': False,
            'default_hooks.checkpoint.interval': 1,
            'default_hooks.checkpoint.max_keep_ckpts': -1,
            **options
        })
    runner = build_runner(prepare_train_config(cfg, args))
    runner.train()
    return runner


def logged(work_dir):
    return '\n'.join(p.read_text() for p in work_dir.glob('*/*.log'))


@pytest.mark.slow
def test_lr_10_stops_and_the_named_checkpoint_trains_finite(tmp_path):
    hooks = [dict(type='FiniteLossHook', spike_patience=5)]
    with pytest.raises(LossSpikeError) as stopped:
        train(tmp_path / 'lr10', 10., 6, hooks)
    message = str(stopped.value)
    match = re.search(
        r'the loss has stayed over spike_factor=10 times its running median \(\S+\) '
        r'for 5 iterations, since iteration (\d+) \(now \S+ at iteration (\d+), '
        r'epoch \d\): the training diverges. The last healthy checkpoint \(finite '
        r'weights, saved before the loss left its normal range\) is (\S+)\. ', message)
    assert match, message
    left, now, named = int(match[1]), int(match[2]), match[3]
    assert now == left + 4 and left >= 2
    # the weights of iteration left-1 gave the first loss out of range: the named one
    # is older, though the later ones are finite too
    assert named == str(tmp_path / 'lr10' / f'iter_{left - 2}.pth'), message
    log = logged(tmp_path / 'lr10')
    assert f'iter_{now - 1}.pth: weights finite=True' in log
    assert not (tmp_path / 'lr10' / f'iter_{now}.pth').exists()
    assert f'at iteration {left} is over spike_factor=10 times' in log

    # the advice: a new run from its weights with a lower learning rate
    advice = message.split('`tools/train.py CONFIG --cfg-options ')[1].split('`')[0]
    overrides = dict(a.replace('<lower>', '2e-3').split('=', 1) for a in advice.split())
    assert overrides['load_from'] == named
    runner = train(
        tmp_path / 'again',
        float(overrides['optim_wrapper.optimizer.lr']),
        1,
        hooks,
        load_from=named)
    losses = runner.message_hub.log_scalars['train/loss'].data[0].tolist()
    assert len(losses) == 5 and max(losses) < 3, losses  # the first run went to 60+


@pytest.mark.slow
def test_lr_1000_names_no_checkpoint_of_diverged_weights(tmp_path):
    """The issue's case: the loss leaves its range at iteration 2 and is NaN at 4;
    iter_3.pth has finite weights (named before) but no checkpoint is healthy."""
    with pytest.raises(NonFiniteLossError) as stopped:
        train(tmp_path, 1000., 1)
    message = str(stopped.value)
    assert re.match(
        r'non-finite loss at iteration \d+ \(epoch 1\): loss=nan; no checkpoint was '
        r'saved before the loss left its normal range: start again with a lower '
        r'learning rate', message), message
    log = logged(tmp_path)
    assert 'at iteration 2 is over spike_factor=10 times' in log
    finite = re.findall(r'checkpoint (\S+): weights finite=True', log)
    assert len(finite) >= 2 and not any(path in message for path in finite), log


class Runner(types.SimpleNamespace):
    """What ``FiniteLossHook`` uses of a runner."""


def fake_runner(name):
    hub = MessageHub.get_instance(f'finite-loss-{name}')
    return Runner(
        iter=0, epoch=0, message_hub=hub, logger=logging.getLogger(f'finite-{name}'))


def feed(hook, runner, losses, start=0):
    """Train ``losses`` one per iteration from iteration ``start + 1``, a checkpoint
    after each."""
    for i, loss in enumerate(losses, start):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={'loss': loss})
        runner.message_hub.update_info('last_ckpt', f'iter_{i + 1}.pth')
        hook.before_save_checkpoint(runner, {'state_dict': {}, 'optimizer': {}})


def test_spike_rules(caplog):
    runner = fake_runner('rules')
    hook = FiniteLossHook(spike_patience=3)
    # a 2-iteration excursion is a warning; iter_4's weights gave it: never healthy
    feed(hook, runner, [2., 1.5, 1.2, 1.1, 50., 40., 1., 0.9])
    assert runner.message_hub.get_info('last_healthy_ckpt') == 'iter_7.pth'
    assert 'loss 50 at iteration 5 is over spike_factor=10 times its running median ' \
        '1.35' in caplog.text
    # iter_10's weights gave the first loss of the next excursion
    with pytest.raises(LossSpikeError, match='since iteration 11 .* is iter_9.pth'):
        feed(hook, runner, [0.9, 0.9, 30., 30., 30.], start=8)

    warn = FiniteLossHook(spike_patience=2, on_spike='warn')
    runner = fake_runner('warn')
    feed(warn, runner, [1., 1., 20., 20., 20., 20.])
    assert caplog.text.count('the training diverges') == 1  # once per excursion
    off = FiniteLossHook(spike_factor=None)
    feed(off, fake_runner('off'), [1., 1000., 1000., 1000.] * 10)
    with pytest.raises(ValueError, match='spike_factor must be a number > 1'):
        FiniteLossHook(spike_factor=0.5)
    with pytest.raises(ValueError, match="on_spike must be one of \\('error', 'warn'\\)"):
        FiniteLossHook(on_spike='stop')
