import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F
from reference import (official_pyramid_forward, official_rotate,
                       synthetic_pyramid_state_dict)

from visionllama_mm.models import PyramidVisionLLaMA
from visionllama_mm.models.layers import (GlobalSubsampledAttention,
                                          LocallyGroupedAttention, RotaryEmbedding2D,
                                          grid_coords, gsa_key_coords)

TINY = dict(embed_dims=[16, 32, 32, 64], depths=[2, 2, 2, 2], num_heads=[2, 2, 2, 4])


def tiny(**kwargs):
    torch.manual_seed(0)
    model = PyramidVisionLLaMA(arch=TINY, **kwargs)
    model.init_weights()
    return model


def brute_force_cell_means(height, width, k):
    coords = []
    for i in range(math.ceil(height / k)):
        for j in range(math.ceil(width / k)):
            ys = [y for y in range(i * k, min(i * k + k, height))]
            xs = [x for x in range(j * k, min(j * k + k, width))]
            coords.append((sum(xs) / len(xs), sum(ys) / len(ys)))
    return torch.tensor(coords)


@pytest.mark.parametrize('k', [2, 4, 8])
@pytest.mark.parametrize('hw', [(16, 16), (16, 24), (13, 21), (9, 30)])
def test_key_coords_are_cell_means(k, hw):
    got = gsa_key_coords(*hw, k)[0]
    assert torch.allclose(got, brute_force_cell_means(*hw, k))
    if hw[0] % k == 0 and hw[1] % k == 0:  # full cells: j*k + (k-1)/2
        assert got[0].tolist() == [(k - 1) / 2, (k - 1) / 2]


@pytest.mark.parametrize('k', [1, 2, 4, 8])
def test_official_key_coords_formula(k):
    height, width = 16, 24
    got = gsa_key_coords(height, width, k, 'official')[0]
    j = torch.arange((height // k) * (width // k)).float()
    expected = torch.stack((1 - 1 / k + (j % width) * k, 1 - 1 / k + (j // width) * k),
                           -1)
    assert torch.allclose(got, expected)
    if k == 2:  # agrees with the cell means on the first reduced row only
        means = gsa_key_coords(height, width, k)[0]
        assert torch.allclose(got[:width // k], means[:width // k])
        assert not torch.allclose(got, means)


def test_gsa_matches_direct_computation_with_mean_keys():
    torch.manual_seed(0)
    attn = GlobalSubsampledAttention(16, 2, sr_ratio=4).eval()
    rope = RotaryEmbedding2D(8, 'as2d', anchor_grid=(5, 5))
    hw = (10, 13)  # not multiples of 4: padded cells
    x = torch.randn(2, 130, 16)
    q_tab = rope.grid_tables(*hw, 'cpu')
    k_tab = rope(gsa_key_coords(*hw, 4), hw)
    out = attn(x, hw, q_tab, k_tab)

    fmap = F.pad(x.transpose(1, 2).reshape(2, 16, *hw), (0, 3, 0, 2))
    src = attn.norm(attn.sr(fmap).flatten(2).transpose(1, 2))
    assert src.shape[1] == 3 * 4
    q = attn.q(x).reshape(2, -1, 2, 8).transpose(1, 2)
    k, v = attn.kv(src).reshape(2, -1, 2, 2, 8).permute(2, 0, 3, 1, 4)
    coords = grid_coords(*hw)[0] * torch.tensor([5 / 13, 5 / 10])
    kcoords = brute_force_cell_means(*hw, 4) * torch.tensor([5 / 13, 5 / 10])
    q, k = official_rotate(q, coords), official_rotate(k, kcoords)
    ref = ((q @ k.transpose(-2, -1)) * 8**-0.5).softmax(-1) @ v
    ref = attn.proj(ref.transpose(1, 2).reshape(2, 130, 16))
    assert torch.allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize('mask_padding', [True, False])
def test_lsa_padding(mask_padding):
    torch.manual_seed(0)
    ws = 4
    attn = LocallyGroupedAttention(8, 2, window_size=ws, mask_padding=mask_padding).eval()
    rope = RotaryEmbedding2D(4)
    hw = (6, 5)
    x = torch.randn(1, 30, 8)
    out = attn(x, hw, rope.grid_tables(ws, ws, 'cpu'))
    # reference: one window at a time, padded tokens are zeros (after the LN outside)
    grid = F.pad(x.reshape(1, 6, 5, 8), (0, 0, 0, 3, 0, 2))
    ref = torch.zeros(1, 8, 8, 8)
    for wi in range(2):
        for wj in range(2):
            win = grid[:, wi * ws:(wi + 1) * ws, wj * ws:(wj + 1) * ws].reshape(1, 16, 8)
            real = torch.zeros(ws, ws, dtype=torch.bool)
            real[:max(0, min(ws, 6 - wi * ws)), :max(0, min(ws, 5 - wj * ws))] = True
            real = real.flatten()
            q, k, v = attn.qkv(win).reshape(1, 16, 3, 2, 4).permute(2, 0, 3, 1, 4)
            local = grid_coords(ws, ws)[0]
            q, k = official_rotate(q, local), official_rotate(k, local)
            logits = (q @ k.transpose(-2, -1)) * 4**-0.5
            if mask_padding:
                logits = logits.masked_fill(~real, float('-inf'))
            o = (logits.softmax(-1) @ v).transpose(1, 2).reshape(1, ws, ws, 8)
            ref[:, wi * ws:(wi + 1) * ws, wj * ws:(wj + 1) * ws] = o
    ref = attn.proj(ref[:, :6, :5].reshape(1, 30, 8))
    assert torch.allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize('hw', [(64, 64), (97, 131), (50, 37), (33, 200)])
def test_stage_shapes_at_odd_sizes(hw):
    model = tiny(norm_after_stage=True).eval()
    outs = model(torch.randn(1, 3, *hw))
    h, w = hw
    expected = []
    h, w = math.ceil(h / 4), math.ceil(w / 4)
    for dims in TINY['embed_dims']:
        expected.append((1, dims, h, w))
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    assert [tuple(o.shape) for o in outs] == expected


def test_as2d_is_identity_at_the_anchor():
    # layer scale 1, not the release's 1e-4: with 1e-4 the rescaled RoPE changed the
    # output by only 1.8e-7 .. 4.8e-7 (relative, 40 input seeds), within allclose's
    # tolerance for 4 of them; with 1 by 5.5e-5 .. 2.0e-4
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)  # stage grids 16, 8, 4, 2
    plain = tiny(rope_type='2d', layer_scale_init_value=1.).eval()(x)
    anchored = tiny(
        rope_type='as2d', rope_anchor=[16, 8, 4, 2], layer_scale_init_value=1.).eval()(
            x)
    for a, b in zip(plain, anchored):
        assert torch.equal(a, b)
    # anchor 14 everywhere: rescaled positions change the output
    other = tiny(rope_type='as2d', layer_scale_init_value=1.).eval()(x)
    change = (other[-1] - plain[-1]).abs().max() / plain[-1].abs().max()
    assert change > 1e-5


def test_classification_output_and_arch_sizes():
    model = tiny(out_type='avg_featmap', out_indices=(3, ))
    assert model(torch.randn(2, 3, 64, 64))[0].shape == (2, 64)
    small = PyramidVisionLLaMA('s', out_type='avg_featmap', out_indices=(3, ))
    params = sum(p.numel() for p in small.parameters())
    assert abs(params + 512 * 1000 + 1000 - 25.9e6) < 0.05e6  # the release's ~25.9M
    hidden = [blk[0].ffn.w3.in_features for blk in small.layers]
    assert hidden == [256, 512, 768, 1536]


def test_frozen_stages_and_layer_depth():
    model = tiny(frozen_stages=2, norm_after_stage=True)
    model.train()
    for i in range(4):
        params = list(model.layers[i].parameters()) + list(
            model.patch_embeds[i].parameters())
        assert all(p.requires_grad == (i >= 2) for p in params)
        assert model.layers[i].training == (i >= 2)
    assert model.get_layer_depth('backbone.patch_embeds.0.norm.weight',
                                 'backbone.') == (0, 10)
    assert model.get_layer_depth('backbone.layers.1.1.attn.q.weight',
                                 'backbone.') == (4, 10)
    assert model.get_layer_depth('backbone.patch_embeds.2.projection.weight',
                                 'backbone.') == (5, 10)
    assert model.get_layer_depth('backbone.norm_list.3.weight', 'backbone.') == (8, 10)
    assert model.get_layer_depth('decode_head.conv_seg.weight', 'backbone.') == (9, 10)


def test_with_cp_same_outputs_and_grads():
    x = torch.randn(1, 3, 64, 64)
    results = []
    for with_cp in (False, True):
        model = tiny(with_cp=with_cp)
        model.train()
        outs = model(x)
        sum(o.sum() for o in outs).backward()
        results.append(
            ([o.detach() for o in outs], [p.grad.clone() for p in model.parameters()]))
    for a, b in zip(results[0][0], results[1][0]):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='xl'), r"arch 'xl' is not one of \['b', 'base', 'l'"),
    (dict(out_indices=(4, )), r'out_indices entry 4 is out of range: allowed -4..3'),
    (dict(out_type='avg_featmap'), 'set out_indices=\\(3,\\)'),
    (dict(gsa_key_coords='center'),
     "gsa_key_coords must be one of \\('mean', 'official'\\)"),
    (dict(window_sizes=(7, 7)), 'window_sizes needs 4 entries'),
    (dict(rope_type='3d'), 'rope_type must be one of'),
    (dict(rope_type='as2d',
          as2d_scale='width'), "as2d_scale must be one of \\('per_axis', 'height'\\)"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PyramidVisionLLaMA(**{'arch': TINY, **kwargs})


RELEASE_ARCH = dict(
    embed_dims=[16, 32, 32, 64],
    depths=[2, 2, 2, 2],
    num_heads=[2, 2, 2, 4],
    feedforward_channels=[256, 256, 256, 256])


def release_classifier():
    """Synthetic weights in the release's layout, and a function that builds our
    classifier with them (converted) and returns its logits for some images."""
    spec = importlib.util.spec_from_file_location(
        'visionllama2mm', 'tools/model_converters/visionllama2mm.py')
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    official = synthetic_pyramid_state_dict(RELEASE_ARCH['embed_dims'],
                                            RELEASE_ARCH['depths'],
                                            RELEASE_ARCH['feedforward_channels'])
    state = converter.convert({'model': official})
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }

    def logits(images, **kwargs):
        model = PyramidVisionLLaMA(
            arch=RELEASE_ARCH, out_type='avg_featmap', out_indices=(3, ),
            **kwargs).eval()
        model.load_state_dict(backbone, strict=True)
        with torch.no_grad():
            feats = model(images)[0]
        return F.linear(feats, state['head.fc.weight'], state['head.fc.bias'])

    return official, logits


# 96 x 96: grids 24/12/6/3, LSA pads every stage. 64 x 96 under the release's seg/det
# settings (AS2DRoPE, auto_scale=True): grids 16x24 .. 2x3, GSA x and y both by 14 / H.
@pytest.mark.parametrize(
    'size, rope', [
        ((96, 96), dict(rope_type='2d')),
        ((64, 96), dict(rope_type='as2d', as2d_scale='height')),
    ],
    ids=['square-2d', 'non-square-as2d-height'])
def test_official_weights_reproduce_release_forward(size, rope):
    official, logits = release_classifier()
    images = torch.randn(2, 3, *size)
    ours = logits(images, gsa_key_coords='official', lsa_mask_padding=False, **rope)
    ref = official_pyramid_forward(
        official,
        images,
        RELEASE_ARCH['depths'],
        RELEASE_ARCH['num_heads'],
        auto_scale=rope['rope_type'] == 'as2d')
    assert torch.allclose(ours, ref, atol=1e-4)


@pytest.mark.parametrize('gsa_keys', ['official', 'mean'])
def test_as2d_height_scale_differs_from_per_axis_only_off_square(gsa_keys):
    # the release's AS2DRoPE rule (x and y both by 14 / H) against ours (x by 14 / W)
    _, logits = release_classifier()
    torch.manual_seed(0)
    settings = dict(rope_type='as2d', gsa_key_coords=gsa_keys)
    for size in ((64, 96), (96, 64)):  # grids 16x24 .. 2x3 and 24x16 .. 3x2
        images = torch.randn(2, 3, *size)
        per_axis = logits(images, **settings)  # the default
        height = logits(images, as2d_scale='height', **settings)
        # 4.4e-2 .. 7.3e-2 (relative) here; float noise is ~1e-7
        assert (per_axis - height).abs().max() / per_axis.abs().max() > 5e-3
    square = torch.randn(2, 3, 64, 64)
    assert torch.equal(
        logits(square, **settings), logits(square, as2d_scale='height', **settings))


def test_builds_from_every_scope():
    import importlib

    from mmengine.registry import DefaultScope
    for scope in ('mmpretrain', 'mmseg', 'mmdet'):
        registry = importlib.import_module(f'{scope}.registry').MODELS
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.build(dict(type='PyramidVisionLLaMA', arch=TINY))
        assert isinstance(model, PyramidVisionLLaMA)
