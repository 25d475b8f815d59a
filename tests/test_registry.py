import importlib

import pytest
import torch
from mmengine.registry import DefaultScope

import visionllama_mm
from visionllama_mm.models import VisionLLaMA
from visionllama_mm.registry import MODELS, register_all


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_backbone_builds_from_every_scope(scope):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    assert registry.get('VisionLLaMA') is VisionLLaMA
    cfg = dict(
        type='VisionLLaMA',
        img_size=32,
        patch_size=8,
        out_type='featmap',
        arch=dict(embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32))
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg)
    assert isinstance(model, VisionLLaMA)
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 16, 4, 4)


def test_every_package_model_is_registered_everywhere():
    assert set(visionllama_mm.REGISTERED) == {'mmpretrain', 'mmseg', 'mmdet'}
    for scope in visionllama_mm.REGISTERED:
        registry = importlib.import_module(f'{scope}.registry').MODELS
        for name, cls in MODELS.module_dict.items():
            assert registry.get(name) is cls
    assert register_all() == {'mmpretrain': [], 'mmseg': [], 'mmdet': []}  # idempotent


def test_missing_downstream_package_is_skipped(monkeypatch):
    real_import = importlib.import_module

    def fake_import(name, *args):
        if name == 'mmdet.registry':
            raise ImportError('No module named mmdet')
        return real_import(name, *args)

    monkeypatch.setattr(importlib, 'import_module', fake_import)
    assert set(register_all()) == {'mmpretrain', 'mmseg'}


def test_name_clash_with_upstream_is_an_error():
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    class VisionTransformer(torch.nn.Module):
        pass

    MODELS.register_module(module=VisionTransformer)
    try:
        with pytest.raises(KeyError, match='already has a different'):
            register_all()
    finally:
        MODELS.module_dict.pop('VisionTransformer')
    assert PRETRAIN_MODELS.get('VisionTransformer') is not VisionTransformer
