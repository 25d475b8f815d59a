"""Pinned outputs: every backbone, for the same weights and input, gives the numbers it
gave when they were recorded.

The weights do not come from the init (whose random draws depend on the order in which
modules are built): each tensor is drawn from a generator seeded by its name, so a
refactor that keeps the parameter names (or moves one, see ``_CANONICAL``) must keep the
outputs. Layer scales are set to 0.5 and norms to ~1 so that no branch is hidden.
"""
import zlib

import pytest
import torch

from visionllama_mm.models import (AIM, MAEVisionLLaMA, PyramidVisionLLaMA, VisionLLaMA,
                                   ViTG)

# names that moved without changing meaning: old -> canonical
_CANONICAL = (('.ffn.gamma2.', '.gamma2.'), )


def _canonical(name: str) -> str:
    for old, new in _CANONICAL:
        name = name.replace(old, new)
    return name


def _fill_by_name(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, param in model.named_parameters():
            gen = torch.Generator().manual_seed(zlib.crc32(_canonical(name).encode()))
            noise = torch.randn(param.shape, generator=gen)
            leaf = name.rsplit('.', 2)
            if 'gamma' in name:
                param.copy_(0.5 + 0.1 * noise)
            elif param.dim() == 1 and ('ln' in name or 'norm' in name) \
                    and leaf[-1] == 'weight':
                param.copy_(1. + 0.1 * noise)
            else:
                param.copy_(0.2 * noise / max(param[0].numel(), 1)**0.5)


def _input(*shape: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1234)
    return torch.randn(*shape, generator=gen)


TINY_LLAMA = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
TINY_VIT = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
TINY_PYRAMID = dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2])

CASES = {
    'visionllama_cls':
    lambda:
    (VisionLLaMA(TINY_LLAMA, img_size=32, patch_size=8, layer_scale_init_value=.1),
     _input(2, 3, 40, 48)),
    'visionllama_as2d_featmap_windows':
    lambda: (VisionLLaMA(
        dict(TINY_LLAMA, ffn_bias=True),
        img_size=32,
        patch_size=8,
        with_cls_token=False,
        out_type='featmap',
        out_indices=(0, 2),
        rope_type='as2d',
        window_size=2,
        window_block_indexes=[0, 1],
        window_rope_coords='global',
        layer_scale_init_value=.1), _input(2, 3, 40, 48)),
    'visionllama_avg_local_windows':
    lambda: (VisionLLaMA(
        TINY_LLAMA,
        img_size=32,
        patch_size=8,
        with_cls_token=False,
        out_type='avg_featmap',
        window_size=3,
        window_block_indexes=[1]), _input(2, 3, 40, 48)),
    'aim_raw':
    lambda:
    (AIM(TINY_VIT, img_size=32, patch_size=8, out_indices=(1, 2)), _input(2, 3, 32, 40)),
    'aim_featmap':
    lambda:
    (AIM(TINY_VIT, img_size=32, patch_size=8, out_type='featmap'), _input(2, 3, 36, 40)),
    'aim_avg_layers':
    lambda:
    (AIM(TINY_VIT, img_size=32, patch_size=8, out_type='avg_layers', out_indices=(0, 1)),
     _input(2, 3, 32, 32)),
    'vitg_map':
    lambda: (ViTG(TINY_VIT, img_size=32, patch_size=8), _input(2, 3, 40, 48)),
    'vitg_featmap_stride':
    lambda: (ViTG(
        TINY_VIT,
        img_size=32,
        patch_size=8,
        out_type='featmap',
        out_indices=(1, 2),
        featmap_stride=4), _input(2, 3, 40, 48)),
    'vitg_avg':
    lambda: (ViTG(TINY_VIT, img_size=32, patch_size=8, out_type='avg_featmap'),
             _input(2, 3, 32, 32)),
    'pyramid_featmap':
    lambda: (PyramidVisionLLaMA(
        TINY_PYRAMID, window_sizes=2, sr_ratios=(2, 1), out_indices=(0, 1)),
             _input(2, 3, 36, 44)),
    'pyramid_release_as2d':
    lambda: (PyramidVisionLLaMA(
        TINY_PYRAMID,
        window_sizes=2,
        sr_ratios=(2, 1),
        out_indices=(0, 1),
        rope_type='as2d',
        rope_anchor=4,
        gsa_key_coords='official',
        lsa_mask_padding=False,
        norm_after_stage=True), _input(2, 3, 32, 32)),
    'pyramid_avg':
    lambda: (PyramidVisionLLaMA(
        TINY_PYRAMID,
        window_sizes=2,
        sr_ratios=(2, 1),
        out_indices=1,
        out_type='avg_featmap'), _input(2, 3, 32, 32)),
}

# (shape, sum of |x|, four values at flat positions 0, 7, 101 and -1) per output;
# recorded before the backbone skeleton was shared (one base, one block)
PINS = {
    'aim_avg_layers': [((2, 16, 32), 1078.554, [1.739624, 0.993759, 2.825849,
                                                -0.6444405])],
    'aim_featmap': [((2, 32, 5, 5), 1299.218, [0.962095, 1.92662, -1.635955,
                                               -0.2872867])],
    'aim_raw': [((2, 20, 32), 1325.958, [2.052954, -0.2843842, 2.639098, 0.8729546]),
                ((2, 20, 32), 1040.869, [1.178029, -0.9384501, 1.963244, -0.2435819])],
    'mae': [((2, 9, 32), 465.3371, [-1.903274, -1.910805, 0.4914353, -1.457383]),
            ((2, 9, 32), 467.2, [-0.6385509, 1.003571, 0.4941288, -1.458079])],
    'pyramid_avg': [((2, 32), 56.42796, [0.3224683, 0.9912013, 0.7167202, 0.0153689])],
    'pyramid_featmap':
    [((2, 16, 9, 11), 2614.871, [-1.241569, 0.5684758, 2.114743, -2.378617]),
     ((2, 32, 5, 6), 1421.777, [-0.3709473, -0.2951266, -1.314821, 0.7203621])],
    'pyramid_release_as2d':
    [((2, 16, 8, 8), 1508.071, [0.312713, -0.922124, 1.025314, -0.1844317]),
     ((2, 32, 4, 4), 821.1686, [-0.3472353, -0.3281614, -0.1534857, -0.104129])],
    'visionllama_as2d_featmap_windows':
    [((2, 32, 5, 6), 450.2914, [0.03361551, 0.1759336, -0.4544513, -0.2955474]),
     ((2, 32, 5, 6), 1590.221, [0.175291, 0.4553141, -0.7157393, -1.227808])],
    'visionllama_avg_local_windows':
    [((2, 32), 51.48505, [0.7717146, 0.7280655, -0.4343273, -1.063122])],
    'visionllama_cls': [((2, 32), 47.01323,
                         [-0.4086603, 0.6748036, -1.218158, -0.5018647])],
    'vitg_avg': [((2, 32), 47.94055, [0.2168122, 0.05717156, -0.2118157, -1.212676])],
    'vitg_featmap_stride': [
        ((2, 32, 10, 12), 2575.979, [0.1192948, 0.2813204, 0.4188282, -0.3764403]),
        ((2, 32, 10, 12), 5636.642, [-0.138724, 0.1308377, 0.4376487, -1.40967])
    ],
    'vitg_map': [((2, 32), 15.54672, [-0.218022, 0.3058805, 0.004434448, -0.5174966])]
}


def _summary(out: torch.Tensor):
    flat = out.reshape(-1)
    return (tuple(out.shape), flat.abs().sum().item(),
            [flat[i].item() for i in (0, 7, 101 % flat.numel(), -1)])


def _run(case: str):
    model, x = CASES[case]()
    _fill_by_name(model)
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize('case', sorted(CASES))
def test_backbone_outputs_are_pinned(case):
    outs = _run(case)
    assert len(outs) == len(PINS[case])
    for out, (shape, abs_sum, values) in zip(outs, PINS[case]):
        got_shape, got_sum, got_values = _summary(out)
        assert got_shape == shape
        assert got_sum == pytest.approx(abs_sum, rel=1e-4)
        assert got_values == pytest.approx(values, rel=1e-4, abs=1e-5)


def test_mae_masked_forward_is_pinned():
    """The masked MAE forward (seeded masking) with the class token outside and
    inside the blocks."""
    for in_blocks, (shape, abs_sum, values) in zip((False, True), PINS['mae']):
        model = MAEVisionLLaMA(
            dict(TINY_LLAMA, ffn_bias=True),
            img_size=32,
            patch_size=8,
            mask_ratio=0.5,
            cls_token_in_blocks=in_blocks)
        _fill_by_name(model)
        model.eval()
        torch.manual_seed(7)
        with torch.no_grad():
            latent, mask, ids_restore = model(_input(2, 3, 32, 32))
        got_shape, got_sum, got_values = _summary(latent)
        assert got_shape == shape
        assert got_sum == pytest.approx(abs_sum, rel=1e-4)
        assert got_values == pytest.approx(values, rel=1e-4, abs=1e-5)
        assert mask.sum().item() == 16
