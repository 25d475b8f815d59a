"""FactoredAdamW: float64 reference maths, bf16 momentum, state memory, errors."""
import copy
import math

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.optimizers import FactoredAdamW, factored_dims
from visionllama_mm.models import ViTG

HP = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def reference_step(param,
                   grad,
                   state,
                   lr,
                   betas,
                   eps,
                   weight_decay,
                   min_dim_size_to_factor=32,
                   clip_threshold=None,
                   eps2=1e-30):
    """Float64 factored AdamW written from the formulas (one step, in place)."""
    beta1, beta2 = betas
    state['t'] = t = state.get('t', 0) + 1
    state['m'] = beta1 * state.get('m', torch.zeros_like(grad)) + (1 - beta1) * grad
    dims = factored_dims(tuple(grad.shape), min_dim_size_to_factor)
    if dims is None:
        state['v'] = beta2 * state.get('v', torch.zeros_like(grad)) + \
            (1 - beta2) * grad ** 2
        v = state['v']
    else:
        small, large = dims
        sq = grad**2 + eps2
        state['r'] = beta2 * state.get('r', 0.) + (1 - beta2) * sq.mean(large, True)
        state['c'] = beta2 * state.get('c', 0.) + (1 - beta2) * sq.mean(small, True)
        v = state['r'] * state['c'] / state['r'].mean(small, True)
    update = (state['m'] / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)
    if clip_threshold is not None:
        rms = update.pow(2).mean().sqrt()
        update = update / max(1., float(rms) / clip_threshold)
    param.mul_(1 - lr * weight_decay).sub_(lr * update)


SHAPES = [(40, 48), (1, 36, 40), (40, 3, 4, 4), (40, )]


def _run(momentum_dtype, clip=None, min_dim=32, steps=3):
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s)) for s in SHAPES]
    refs = [p.detach().double().clone() for p in params]
    states = [{} for _ in params]
    opt = FactoredAdamW(
        params,
        momentum_dtype=momentum_dtype,
        clip_threshold=clip,
        min_dim_size_to_factor=min_dim,
        **HP)
    for _ in range(steps):
        grads = [torch.randn(s) * (1 + torch.rand(s[-1])) for s in SHAPES]
        for p, g, r, s in zip(params, grads, refs, states):
            p.grad = g.clone()
            reference_step(
                r,
                g.double(),
                s,
                min_dim_size_to_factor=min_dim,
                clip_threshold=clip,
                **HP)
        opt.step()
    return params, refs, opt


@pytest.mark.parametrize('clip,min_dim', [(None, 32), (0.5, 32), (None, 2)])
def test_float32_momentum_matches_float64_reference(clip, min_dim):
    params, refs, opt = _run(torch.float32, clip=clip, min_dim=min_dim)
    for p, r in zip(params, refs):
        torch.testing.assert_close(p.detach().double(), r, rtol=0, atol=1e-6)
    state = opt.state[params[0]]
    assert set(state) == {'step', 'exp_avg', 'exp_avg_sq_row', 'exp_avg_sq_col'}
    assert state['exp_avg_sq_row'].shape == (40, ) and \
        state['exp_avg_sq_col'].shape == (48, )
    assert 'exp_avg_sq' in opt.state[params[3]]  # 1-D: full second moment
    conv = opt.state[params[2]]
    assert ('exp_avg_sq_row' in conv) == (min_dim <= 4)


def test_bf16_momentum_is_close_to_reference():
    params, refs, opt = _run(torch.bfloat16)
    start = _run(torch.float32, steps=0)[1]
    for p, r, r0 in zip(params, refs, start):
        moved = (r - r0).abs().max()
        # bf16 keeps 8 bits of m: the parameter moves within ~1 % of the exact move
        assert (p.detach().double() - r).abs().max() < 0.01 * moved
    assert all(s['exp_avg'].dtype == torch.bfloat16 for s in opt.state.values())


def test_factored_dims():
    assert factored_dims((40, ), 32) is None
    assert factored_dims((40, 48), 32) == (0, 1)
    assert factored_dims((48, 40), 32) == (1, 0)
    assert factored_dims((64, 3, 14, 14), 4) == (3, 0)  # the two largest dims
    assert factored_dims((8, 3, 14, 14), 4) == (2, 3)
    assert factored_dims((40, 3, 4, 4), 32) is None


def _vit():
    return ViTG(
        dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=256),
        img_size=32,
        patch_size=4)


def _state_bytes(optimizer):
    return sum(t.numel() * t.element_size() for s in optimizer.state.values()
               for t in s.values() if torch.is_tensor(t))


def test_state_is_at_most_30_percent_of_adamw_on_a_vit():
    torch.manual_seed(0)
    model = _vit()
    models = [model, copy.deepcopy(model)]
    opts = [
        torch.optim.AdamW(models[0].parameters(), lr=1e-3),
        FactoredAdamW(models[1].parameters(), lr=1e-3)
    ]
    images = torch.randn(2, 3, 32, 32)
    for m, opt in zip(models, opts):
        m(images)[0].square().mean().backward()
        opt.step()
    adam, ours = (_state_bytes(o) for o in opts)
    num_params = sum(p.numel() for p in model.parameters())
    assert adam >= 8 * num_params
    assert ours <= 0.30 * adam, (ours, adam)
    assert opts[1].state_bytes() == ours


def test_state_dict_round_trip_keeps_bf16_momentum():
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.randn(40, 48))
    opt = FactoredAdamW([param], lr=1e-2)
    param.grad = torch.randn(40, 48)
    opt.step()
    clone = torch.nn.Parameter(param.detach().clone())
    restored = FactoredAdamW([clone], lr=1e-2)
    # (a deep copy, as from a checkpoint file: torch keeps same-dtype tensors shared)
    restored.load_state_dict(copy.deepcopy(opt.state_dict()))  # exp_avg -> fp32
    grad = torch.randn(40, 48)
    param.grad, clone.grad = grad, grad.clone()
    opt.step()
    restored.step()
    assert restored.state[clone]['exp_avg'].dtype == torch.bfloat16
    torch.testing.assert_close(clone, param)


def test_builds_from_config_in_every_scope():
    for scope in ('mmpretrain', 'mmseg', 'mmdet'):
        with DefaultScope.overwrite_default_scope(scope):
            wrapper = build_optim_wrapper(
                torch.nn.Linear(4, 4),
                dict(
                    optimizer=dict(
                        type='FactoredAdamW', lr=1e-3, momentum_dtype='bfloat16')))
        assert isinstance(wrapper.optimizer, FactoredAdamW)
        assert wrapper.optimizer.defaults['momentum_dtype'] is torch.bfloat16


@pytest.mark.parametrize('kwargs,match', [
    (dict(momentum_dtype='int8'), 'momentum_dtype'),
    (dict(lr=-1.), 'lr, eps and weight_decay'),
    (dict(betas=(0.9, 1.0)), 'betas'),
    (dict(clip_threshold=0.), 'clip_threshold'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FactoredAdamW([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_reduces_a_least_squares_loss():
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.zeros(32, 40))
    target = torch.randn(32, 40)
    opt = FactoredAdamW([weight], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = (weight - target).square().mean()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * target.square().mean().item()
    assert math.isfinite(loss.item())
