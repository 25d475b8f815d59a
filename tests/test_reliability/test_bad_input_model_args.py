"""Backbone arguments that used to build and run wrong (collapsed or mirrored RoPE) or
crash without naming the parameter: each is now an error at construction that names
the parameter and the allowed values (issue 12, findings 3 and 4)."""
import pytest
import torch

from visionllama_mm.models import AIM, PyramidVisionLLaMA, VisionLLaMA, ViTG
from visionllama_mm.models.layers.rope import RotaryEmbedding2D

PLAIN = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
PYRAMID = dict(
    embed_dims=[16, 32, 64, 128],
    depths=[2, 2, 2, 2],
    num_heads=[1, 2, 4, 8],
    feedforward_channels=[64, 96, 192, 384])
THREE_STAGES = {k: v[:3] for k, v in PYRAMID.items()}
POSITIVE = r'must be a positive int \(>= 1\) or a list of them, got '


def plain(cls=VisionLLaMA, **kwargs):
    return cls(**{'arch': PLAIN, 'img_size': 32, 'patch_size': 8, **kwargs})


@pytest.mark.parametrize('cls', [VisionLLaMA, AIM, ViTG])
@pytest.mark.parametrize('key,value', [('num_heads', 0), ('num_layers', -2),
                                       ('embed_dims', 0)])
def test_plain_arch_sizes_must_be_positive(cls, key, value):
    # num_heads=0 was a ZeroDivisionError, num_layers=-2 built an empty trunk
    with pytest.raises(ValueError, match=f'arch {key} {POSITIVE}{value}'):
        plain(cls, arch=dict(PLAIN, **{key: value}))


@pytest.mark.parametrize('key,value', [('depths', [2, -1, 2, 2]),
                                       ('num_heads', [1, 0, 4, 8]),
                                       ('embed_dims', [16, 0, 64, 128])])
def test_pyramid_arch_sizes_must_be_positive(key, value):
    with pytest.raises(ValueError, match=f'arch {key} {POSITIVE}' + r'\['):
        PyramidVisionLLaMA(arch=dict(PYRAMID, **{key: value}))


@pytest.mark.parametrize('cls', [VisionLLaMA, AIM, ViTG])
@pytest.mark.parametrize('img_size', [0, -32, (32, 0)])
def test_img_size_must_be_positive(cls, img_size):
    with pytest.raises(
            ValueError,
            match=r'img_size must be a positive int or \(h, w\) '
            'positive ints, got'):
        plain(cls, img_size=img_size)


@pytest.mark.parametrize('anchor', [0, -14, (14, 0), float('nan')])
def test_rope_anchor_must_be_positive(anchor):
    match = r'rope_anchor / anchor_grid must be a number or \(H, W\) numbers > 0'
    with pytest.raises(ValueError, match=match):
        plain(rope_type='as2d', rope_anchor=anchor)
    with pytest.raises(ValueError, match=match):
        PyramidVisionLLaMA(arch=PYRAMID, rope_type='as2d', rope_anchor=anchor)


def test_rope_anchor_zero_was_not_replaced_by_the_default():
    """``rope_anchor=0`` used to fall back to the training grid silently (``0 or
    grid``); an int anchor is now the square grid it names."""
    model = plain(rope_type='as2d', rope_anchor=3)
    assert model.rope.anchor_grid == (3., 3.)
    assert plain(rope_type='as2d').rope.anchor_grid == (4., 4.)  # 32 / 8
    assert RotaryEmbedding2D(8, 'as2d', anchor_grid=(2, 5)).anchor_grid == (2., 5.)


def test_out_indices_out_of_range_on_a_three_stage_pyramid():
    with pytest.raises(
            ValueError,
            match=r'out_indices entry 3 is out of range: '
            r'allowed -3..2 for 3 stages'):
        PyramidVisionLLaMA(arch=THREE_STAGES, sr_ratios=(4, 2, 1), out_indices=(1, 2, 3))
    model = PyramidVisionLLaMA(
        arch=THREE_STAGES, sr_ratios=(4, 2, 1), out_indices=(0, 1, 2))
    assert len(model(torch.zeros(1, 3, 32, 32))) == 3


def test_feedforward_channels_one_per_stage():
    with pytest.raises(
            ValueError, match=r'feedforward_channels\) need one entry per '
            'stage'):
        PyramidVisionLLaMA(arch=dict(PYRAMID, feedforward_channels=[64, 96, 192]))
