import importlib

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401

PLAIN = dict(
    type='VisionLLaMA',
    img_size=32,
    patch_size=8,
    with_cls_token=False,
    out_type='featmap',
    arch=dict(embed_dims=16, num_layers=3, num_heads=2, feedforward_channels=32))
PYRAMID = dict(
    type='PyramidVisionLLaMA',
    arch=dict(embed_dims=[8, 16, 16, 16], depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2]))


class Segmentor(torch.nn.Module):  # a model whose backbone has get_layer_depth

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.decode_head = torch.nn.Linear(4, 4)


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
@pytest.mark.parametrize('backbone', [PLAIN, PYRAMID], ids=['plain', 'pyramid'])
def test_groups_parameters_by_depth(scope, backbone):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = Segmentor(registry.build(backbone))
        wrapper = build_optim_wrapper(
            model,
            dict(
                constructor='LayerDecayOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
                paramwise_cfg=dict(layer_decay_rate=0.5)))
    groups = {g['param_name']: g for g in wrapper.optimizer.param_groups}
    depth, total = model.backbone.get_layer_depth('backbone.xyz', 'backbone.')
    assert groups['decode_head.weight']['lr'] == 1.0  # last depth: no decay
    for name, group in groups.items():
        if name.startswith('backbone.'):
            layer, n = model.backbone.get_layer_depth(name, 'backbone.')
            assert group['lr'] == pytest.approx(0.5**(n - layer - 1))
    first = [
        g for n, g in groups.items()
        if n.startswith(('backbone.patch_embed.', 'backbone.patch_embeds.0.'))
    ]
    assert first and all(g['lr'] == pytest.approx(0.5**(total - 1)) for g in first)


def test_model_without_layer_depth_is_a_clear_error():
    with pytest.raises(TypeError, match='needs get_layer_depth'), \
            DefaultScope.overwrite_default_scope('mmseg'):
        build_optim_wrapper(
            torch.nn.Linear(2, 2),
            dict(
                constructor='LayerDecayOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=1.0),
                paramwise_cfg=dict(layer_decay_rate=0.5)))
