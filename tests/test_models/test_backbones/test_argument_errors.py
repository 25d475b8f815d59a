"""Model arguments that used to build and fail late (or obscurely) are errors at build
that name the argument, the allowed values and the fix (issue 22, item 6): a
``ModelArgumentError``, which is a ``UserError`` (the tools print it alone) and a
``ValueError``."""
import pytest
import torch

from visionllama_mm.errors import ModelArgumentError, UserError
from visionllama_mm.models import AIM, PyramidVisionLLaMA, VisionLLaMA, ViTG

TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
PYRAMID = dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2])


def plain(cls=VisionLLaMA, **kwargs):
    return cls(**{'arch': TINY, 'img_size': 32, 'patch_size': 8, **kwargs})


def pyramid(**kwargs):
    return PyramidVisionLLaMA(**{
        'arch': PYRAMID,
        'sr_ratios': (2, 1),
        'out_indices': (0, 1),
        **kwargs
    })


def _raises(build, match: str) -> ModelArgumentError:
    with pytest.raises(ModelArgumentError, match=match) as info:
        build()
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
    return info.value


def test_window_block_index_out_of_range_names_window_block_indexes():
    # was: "out_indices entry 9 is out of range"
    error = _raises(
        lambda: plain(
            with_cls_token=False,
            out_type='featmap',
            window_size=2,
            window_block_indexes=[1, 9]),
        r'window_block_indexes entry 9 is out of range: allowed -4..3 for 4 layers')
    assert 'out_indices' not in str(error)


@pytest.mark.parametrize('value', [0, -3, 1.5, True])
def test_in_channels_must_be_a_positive_int(value):
    # was: a raw conv error (in_channels=0) from inside PatchEmbed
    match = f'in_channels must be a positive int, got {value!r}'
    for cls in (VisionLLaMA, AIM, ViTG):
        _raises(lambda: plain(cls, in_channels=value), match)
    _raises(lambda: pyramid(in_channels=value), match)


@pytest.mark.parametrize('value', [0, -10000., 1, float('inf'), float('nan')])
def test_rope_theta_must_be_a_finite_base_above_one(value):
    # was: accepted; 0 gives inf / nan tables and the loss stops at iteration 1
    match = r'rope_theta / theta must be a finite number > 1 \(the RoPE base: 10000'
    _raises(lambda: plain(rope_theta=value), match)
    _raises(lambda: pyramid(rope_theta=value), match)


@pytest.mark.parametrize('arg', ['drop_path_rate', 'drop_rate', 'attn_drop_rate'])
@pytest.mark.parametrize('value', [1.5, 1., -0.1])
def test_dropout_rates_must_be_in_0_1(arg, value):
    # drop_path_rate=1.5 was accepted: negative keep probabilities, loss NaN at once
    match = rf'{arg} must be a number in \[0, 1\) \(e.g. 0.1; 0 disables it\), ' \
        rf'got {value!r}'
    for cls in (VisionLLaMA, AIM, ViTG):
        _raises(lambda: plain(cls, **{arg: value}), match)
    _raises(lambda: pyramid(**{arg: value}), match)


def test_valid_edges_still_build():
    plain(rope_theta=1.5, drop_path_rate=0.99, in_channels=1)(torch.zeros(1, 1, 8, 8))
    pyramid(rope_theta=100, drop_path_rate=0.)(torch.zeros(1, 3, 16, 16))
