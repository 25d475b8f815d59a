"""RsqrtLR / RsqrtMomentum: closed-form values, epoch conversion, errors."""
import math

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import PARAM_SCHEDULERS

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.schedulers import RsqrtLR, RsqrtMomentum, rsqrt_factor

BASE_LR = 0.1


def closed_form(t, total, warmup, cooldown, timescale):
    value = BASE_LR / math.sqrt(1 + max(t - warmup, 0) / timescale)
    if warmup:
        value *= min(1, t / warmup)
    if cooldown:
        value *= min(1, (total - t) / cooldown)
    return value


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=BASE_LR, momentum=0.9)


def _lrs(scheduler, optimizer, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs


def test_values_match_the_closed_form():
    warmup, cooldown, timescale, total = 10, 20, 20, 100
    optimizer = _optimizer()
    scheduler = RsqrtLR(
        optimizer,
        warmup_steps=warmup,
        cooldown_steps=cooldown,
        timescale=timescale,
        begin=0,
        end=total,
        by_epoch=False)
    lrs = _lrs(scheduler, optimizer, total + 1)
    assert lrs[0] == 0.0
    assert lrs[warmup] == pytest.approx(BASE_LR)  # warmup end: the peak
    assert lrs[warmup // 2] == pytest.approx(BASE_LR / 2)
    # mid decay: 1/sqrt(1 + 30/20); halved 3τ after the warmup (before the cooldown)
    assert lrs[40] == pytest.approx(BASE_LR / math.sqrt(1 + 30 / 20))
    assert lrs[3 * timescale + warmup] == pytest.approx(BASE_LR / 2)
    # cooldown end: f reaches 0 at t = T (big_vision); the last trained step T - 1
    # runs at 1/C of the decayed value, and mmengine then leaves the lr untouched
    assert rsqrt_factor(total, total, warmup, cooldown, timescale) == 0.0
    last = BASE_LR / math.sqrt(1 + (total - 1 - warmup) / timescale) / cooldown
    assert lrs[total - 1] == pytest.approx(last) and lrs[total] == lrs[total - 1]
    assert lrs[total - cooldown // 2] == pytest.approx(
        0.5 * BASE_LR / math.sqrt(1 + (total - cooldown // 2 - warmup) / timescale))
    for t, lr in enumerate(lrs[:total]):
        assert lr == pytest.approx(closed_form(t, total, warmup, cooldown, timescale))


def test_begin_offset_and_no_warmup_or_cooldown():
    optimizer = _optimizer()
    scheduler = RsqrtLR(optimizer, timescale=4, begin=3, end=50, by_epoch=False)
    lrs = _lrs(scheduler, optimizer, 12)
    assert lrs[:4] == [BASE_LR] * 4  # before begin and at t = 0
    assert lrs[11] == pytest.approx(BASE_LR / math.sqrt(1 + 8 / 4))


def test_epoch_config_converts_to_iterations():
    optimizer = _optimizer()
    epoch_length = 10
    scheduler = RsqrtLR.build_iter_from_epoch(
        optimizer,
        warmup_steps=1,
        cooldown_steps=2,
        timescale=3,
        begin=0,
        end=10,
        by_epoch=True,
        epoch_length=epoch_length)
    assert (scheduler.by_epoch, scheduler.end, scheduler.warmup_steps,
            scheduler.cooldown_steps, scheduler.timescale) == (False, 100, 10, 20, 30)
    lrs = _lrs(scheduler, optimizer, 101)
    for t in (5, 10, 50, 85, 99):
        assert lrs[t] == pytest.approx(closed_form(t, 100, 10, 20, 30), abs=1e-12)


def test_momentum_variant_drives_adam_beta1():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))],
                                  lr=1.0,
                                  betas=(0.9, 0.999))
    scheduler = RsqrtMomentum(
        optimizer, warmup_steps=4, timescale=1, end=20, by_epoch=False)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]['betas'] == (pytest.approx(0.9 * 2 / 4), 0.999)


def test_registered_and_built_from_a_config():
    optimizer = _optimizer()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        scheduler = PARAM_SCHEDULERS.build(
            dict(
                type='RsqrtLR',
                optimizer=optimizer,
                warmup_steps=2,
                end=10,
                by_epoch=False))
    assert isinstance(scheduler, RsqrtLR)


@pytest.mark.parametrize('kwargs,match', [
    (dict(warmup_steps=-1), 'warmup_steps and cooldown_steps'),
    (dict(timescale=0), 'timescale'),
    (dict(cooldown_steps=5), 'finite end'),
    (dict(warmup_steps=6, cooldown_steps=6, end=10), 'exceed'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RsqrtLR(_optimizer(), by_epoch=False, **kwargs)
