import pytest
import torch
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_simple_fpn_shapes(scope):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        neck = registry.build(
            dict(
                type='SimpleFeaturePyramid',
                backbone_channel=32,
                in_channels=[8, 16, 32, 32],
                out_channels=16,
                num_outs=5,
                norm_cfg=dict(type='mmpretrain.LN2d', requires_grad=True)))
    outs = neck((torch.randn(2, 32, 6, 10), ))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 24, 40), (2, 16, 12, 20),
                                              (2, 16, 6, 10), (2, 16, 3, 5),
                                              (2, 16, 2, 3)]


def test_bad_arguments():
    from visionllama_mm.models import SimpleFeaturePyramid
    with pytest.raises(ValueError, match='in_channels needs 4 entries'):
        SimpleFeaturePyramid(32, [8, 16], 16, 5)
