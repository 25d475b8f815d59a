"""``pretrained=FILE``, the deprecated backbone argument of mmseg / mmdet, on our
backbones: mmseg's ``EncoderDecoder`` hands a config's ``model.pretrained`` to the
backbone (mmseg's MAE UperNet config sets it)."""
import pytest
import torch
from mmengine.config import ConfigDict

import visionllama_mm  # noqa: F401  (registers the backbones)
from visionllama_mm.models.backbones import PyramidVisionLLaMA, VisionLLaMA

TINY = {
    'VisionLLaMA':
    dict(
        type='VisionLLaMA',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32,
        patch_size=8,
        out_type='featmap'),
    'PyramidVisionLLaMA':
    dict(
        type='PyramidVisionLLaMA',
        arch=dict(
            embed_dims=[8, 16, 32, 64], depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
        window_sizes=2),
}
CLASSES = {'VisionLLaMA': VisionLLaMA, 'PyramidVisionLLaMA': PyramidVisionLLaMA}


def _backbone_file(kind: str, path) -> dict:
    """A backbone-only state dict (no prefix), as mmseg's ``pretrained`` files are."""
    args = {k: v for k, v in TINY[kind].items() if k != 'type'}
    source = CLASSES[kind](**args)
    with torch.no_grad():
        for i, param in enumerate(source.parameters()):
            param.fill_(0.01 * (i + 1))  # far from any init
    state = source.state_dict()
    torch.save(state, path)
    return state


@pytest.mark.parametrize('kind', list(TINY))
def test_pretrained_is_the_init_cfg_alias(kind, tmp_path):
    path = str(tmp_path / 'backbone.pth')
    state = _backbone_file(kind, path)
    args = {k: v for k, v in TINY[kind].items() if k != 'type'}
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        backbone = CLASSES[kind](**args, pretrained=path)
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=key)


@pytest.mark.parametrize('kind', list(TINY))
def test_pretrained_and_init_cfg_together_is_an_error(kind):
    args = {k: v for k, v in TINY[kind].items() if k != 'type'}
    with pytest.raises(ValueError, match='cannot both be set'):
        CLASSES[kind](
            **args,
            pretrained='a.pth',
            init_cfg=dict(type='Pretrained', checkpoint='b.pth'))
    with pytest.raises(ValueError, match='pretrained must be'):
        CLASSES[kind](**args, pretrained=dict(checkpoint='a.pth'))


def test_mmseg_model_pretrained_reaches_our_backbone(tmp_path):
    """mmseg's ``EncoderDecoder(pretrained=FILE)``, as its MAE config builds it."""
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    path = str(tmp_path / 'backbone.pth')
    state = _backbone_file('VisionLLaMA', path)
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            pretrained=path,
            backbone=dict(TINY['VisionLLaMA'], out_indices=[1]),
            decode_head=dict(
                type='FCNHead',
                in_channels=32,
                channels=8,
                num_convs=1,
                num_classes=3,
                norm_cfg=dict(type='BN'))))
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=key)
