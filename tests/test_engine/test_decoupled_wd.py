"""DecoupledWeightDecayOptimWrapperConstructor: head / body decay, exemptions, modes."""
import importlib

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401

BACKBONE = dict(
    type='ViTG',
    arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32),
    img_size=28,
    patch_size=14,
    out_type='map')


def _model(scope='mmpretrain'):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(
            dict(
                type='ImageClassifier',
                backbone=BACKBONE,
                head=dict(type='LinearClsHead', num_classes=3, in_channels=16)))


def _groups(model, scope='mmpretrain', lr=0.5, **paramwise):
    with DefaultScope.overwrite_default_scope(scope):
        wrapper = build_optim_wrapper(
            model,
            dict(
                constructor='DecoupledWeightDecayOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=lr, weight_decay=0.03),
                paramwise_cfg=paramwise))
    return {g['param_name']: g for g in wrapper.optimizer.param_groups}, wrapper


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_head_and_body_decay(scope):
    model = _model()
    groups, _ = _groups(
        model, scope, head_weight_decay=3.0, no_decay_keys=('pos_embed', '.latent'))
    assert set(groups) == {n for n, _ in model.named_parameters()}
    assert groups['head.fc.weight']['weight_decay'] == 3.0
    assert groups['head.fc.bias']['weight_decay'] == 0.0  # 1-D
    assert groups['backbone.layers.0.attn.qkv.weight']['weight_decay'] == 0.03
    assert groups['backbone.attn_pool.kv.weight']['weight_decay'] == 0.03  # body
    assert groups['backbone.patch_embed.projection.weight']['weight_decay'] == 0.03
    for name in ('backbone.pos_embed', 'backbone.attn_pool.latent',
                 'backbone.layers.1.ln2.weight', 'backbone.ln1.bias'):
        assert groups[name]['weight_decay'] == 0.0, name
    assert all(g['lr'] == 0.5 for g in groups.values())


def test_defaults_custom_keys_and_flat_decay_switch():
    model = _model()
    groups, _ = _groups(
        model,
        no_decay_flat=False,
        head_prefix=('head.fc.w', ),
        custom_keys={'backbone.layers.0.': dict(lr_mult=0.1, decay_mult=2.0)})
    assert groups['head.fc.weight']['weight_decay'] == 0.03  # default: optimizer wd
    assert groups['head.fc.bias']['weight_decay'] == 0.03  # not the head prefix
    assert groups['backbone.ln1.weight']['weight_decay'] == 0.03  # flat decayed
    assert groups['backbone.pos_embed']['weight_decay'] == 0.0
    qkv = groups['backbone.layers.0.attn.qkv.weight']
    assert (qkv['lr'], qkv['weight_decay']) == (pytest.approx(0.05), 0.06)


def test_schedule_mode_decays_by_the_schedule_not_the_lr():
    """decay_mode='schedule': one AdamW step with lr·s decays by s·wd (big_vision)."""
    model = _model()
    groups, wrapper = _groups(model, lr=0.5, head_weight_decay=3.0, decay_mode='schedule')
    head = groups['head.fc.weight']
    assert head['weight_decay'] == pytest.approx(3.0 / 0.5)
    schedule = 0.01  # what a param scheduler would have scaled the lr by
    for group in wrapper.optimizer.param_groups:
        group['lr'] *= schedule
    weight = model.head.fc.weight
    before = weight.detach().clone()
    weight.grad = torch.zeros_like(weight)  # isolate the decay: Adam update is 0
    torch.optim.AdamW.step(wrapper.optimizer)
    torch.testing.assert_close(weight.detach(), before * (1 - schedule * 3.0))


@pytest.mark.parametrize('paramwise,match', [
    (dict(decay_mode='coupled'), 'decay_mode must be one of'),
    (dict(head_weight_decay=-1.0), 'head_weight_decay'),
    (dict(no_decay_keys='pos_embed'), 'tuple of str'),
])
def test_bad_arguments(paramwise, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _groups(_model(), **paramwise)
