"""AIM trunk: arch zoo, prefix-causal attention, sin-cos positions, mmpretrain outputs."""
import importlib
import importlib.util

import pytest
import torch
from aim_reference import explicit_attention, prefix_allowed, sincos_2d
from mmengine.registry import DefaultScope

from visionllama_mm.models import AIM
from visionllama_mm.models.layers import (RoPEAttention, SinCosPosEmbed2D,
                                          prefix_causal_mask, sincos_pos_embed_2d)

TINY = dict(embed_dims=32, num_layers=4, num_heads=2)


def tiny(**kwargs):
    cfg = dict(arch=TINY, img_size=16, patch_size=4)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = AIM(**cfg)
    model.init_weights()
    return model.eval()


# ------------------------------------------------------------------------- arch zoo
def test_arch_zoo_matches_release():
    zoo = {
        k: (v['embed_dims'], v['num_layers'], v['num_heads'])
        for k, v in AIM.arch_zoo.items()
    }
    assert zoo == {
        '600m': (1536, 24, 12),
        '1b': (2048, 24, 16),
        '3b': (3072, 24, 24),
        '7b': (4096, 32, 32)
    }


def test_arch_errors_name_the_choices():
    with pytest.raises(ValueError, match=r"'2b'.*\['1b', '3b', '600m', '7b'\]"):
        AIM('2b')
    with pytest.raises(ValueError, match='misses keys'):
        AIM(dict(embed_dims=32, num_layers=2))
    with pytest.raises(ValueError, match='divisible'):
        AIM(dict(embed_dims=30, num_layers=1, num_heads=4))
    with pytest.raises(ValueError, match='out_type must be one of'):
        tiny(out_type='cls_token')
    with pytest.raises(ValueError, match='out_indices entry 4 is out of range'):
        tiny(out_indices=[1, 4])
    with pytest.raises(ValueError, match='multiple of 4'):
        AIM(dict(embed_dims=6, num_layers=1, num_heads=1))


def test_meta_device_param_counts():
    for arch, (dim, depth) in {'600m': (1536, 24), '7b': (4096, 32)}.items():
        with torch.device('meta'):
            model = AIM(arch)
        assert all(p.is_meta for p in model.parameters())
        # per block: qkv + proj + fc1 + fc2 without bias (12 d^2) + two LNs (4 d)
        expected = depth * (12 * dim * dim + 4 * dim) + 14 * 14 * 3 * dim + dim \
            + 2 * dim + 2 * dim  # conv (+bias), patch LN, final LN
        assert sum(p.numel() for p in model.parameters()) == expected


def test_count_params_tool_builds_on_meta():
    spec = importlib.util.spec_from_file_location('count_params',
                                                  'tools/analysis_tools/count_params.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = tool.table(['AIM:600m', 'AIM:7b'])
    assert rows[2].startswith('| AIM:600m | 680.54M |')
    assert rows[3].startswith('| AIM:7b | 6,445.40M |')
    with pytest.raises(ValueError, match='TYPE:ARCH'):
        tool.build_on_meta('AIM')
    with pytest.raises(KeyError, match='not a registered model'):
        tool.build_on_meta('NoSuchNet:b')


def test_no_bias_in_attention_and_mlp():
    names = [n for n, _ in tiny().named_parameters()]
    assert not [n for n in names if n.endswith('bias') and ('attn' in n or 'ffn' in n)]
    assert 'patch_embed.norm.weight' in names and 'patch_embed.projection.bias' in names
    assert not any('pos_embed' in n or 'cls_token' in n for n in names)
    ln = tiny().layers[0].ln1
    assert ln.eps == 1e-6


# ------------------------------------------------------------------ prefix-causal mask
@pytest.mark.parametrize('prefix', [[0, 1, 3, 6, 9], [2, 2, 5, 7, 1]])
def test_prefix_causal_mask_matches_definition(prefix):
    prefix_len = torch.tensor(prefix)
    mask = prefix_causal_mask(prefix_len, 7)
    assert mask.shape == (5, 1, 7, 7) and mask.dtype == torch.bool
    assert torch.equal(mask, prefix_allowed(prefix_len, 7))
    for b, p in enumerate(prefix):
        if p == 0:  # plain causal
            assert torch.equal(mask[b, 0], torch.ones(7, 7).tril().bool())
        if p >= 7:  # fully bidirectional
            assert mask[b].all()
        if 1 <= p < 7:  # prefix block dense, no prefix token sees a later one
            assert mask[b, 0, :p, :p].all() and not mask[b, 0, :p, p:].any()


def test_prefix_causal_mask_rejects_bad_input():
    with pytest.raises(ValueError, match='integer tensor of shape'):
        prefix_causal_mask(torch.tensor([1.5]), 4)
    with pytest.raises(ValueError, match='integer tensor of shape'):
        prefix_causal_mask(torch.tensor([[1]]), 4)


def test_prefix_causal_attention_equals_explicit_softmax():
    torch.manual_seed(0)
    attn = RoPEAttention(16, 2, qkv_bias=False, proj_bias=False).eval()
    x = torch.randn(3, 6, 16)
    prefix_len = torch.tensor([1, 3, 6])
    ours = attn(x, None, prefix_causal_mask(prefix_len, 6))
    q, k, v = attn.qkv(x).reshape(3, 6, 3, 2, 8).permute(2, 0, 3, 1, 4)
    ref = explicit_attention(q, k, v, prefix_allowed(prefix_len, 6))
    ref = attn.proj(ref.transpose(1, 2).reshape(3, 6, 16))
    assert torch.allclose(ours, ref, atol=1e-5)
    assert not torch.allclose(ours, attn(x), atol=1e-3)  # the mask matters


def test_trunk_is_prefix_causal():
    """Changing patch j leaves every token i < j outside the prefix unchanged."""
    model = tiny(out_type='raw')
    x = torch.randn(2, 3, 16, 16)
    prefix_len = torch.tensor([3, 9])
    base = model(x, prefix_len=prefix_len)[0]
    x2 = x.clone()
    x2[:, :, 8:12, 4:8] += 1.  # patch 9 (row 2, column 1) of the 4x4 grid
    out = model(x2, prefix_len=prefix_len)[0]
    changed = (out - base).abs().amax(-1) > 1e-5
    # P = 3 and P = 9: patch 9 is not in either prefix, so tokens 0..8 never see it
    assert not changed[:, :9].any() and changed[:, 9].all()
    prefix_len = torch.tensor([10, 16])  # patch 9 in the prefix: everybody sees it
    changed = (model(x2, prefix_len=prefix_len)[0] -
               model(x, prefix_len=prefix_len)[0]).abs().amax(-1) > 1e-5
    assert changed.all()
    full = model(x)[0]
    assert torch.allclose(model(x, prefix_len=torch.tensor([16, 16]))[0], full, atol=1e-5)


# ----------------------------------------------------------------------- sin-cos
def test_sincos_layout_matches_release_formula():
    table = sincos_pos_embed_2d(3, 5, 16)
    assert table.shape == (15, 16)
    assert torch.allclose(table, sincos_2d(3, 5, 16), atol=1e-6)
    # token 7 = row 1, column 2; the first half only depends on the column
    omega = 1. / 10000**(torch.arange(4) / 4)
    assert torch.allclose(table[7, :4], torch.sin(2 * omega), atol=1e-6)
    assert torch.allclose(table[7, 12:], torch.cos(1 * omega), atol=1e-6)
    assert torch.equal(table[:5, 8:], table[0:1, 8:].expand(5, -1))  # row 0 everywhere


def test_sincos_is_interpolation_free_and_cached():
    small, large = sincos_pos_embed_2d(4, 6, 8), sincos_pos_embed_2d(5, 7, 8)
    for y in range(4):
        for x in range(6):
            assert torch.equal(small[y * 6 + x], large[y * 7 + x])
    embed = SinCosPosEmbed2D(8)
    first = embed((4, 6), torch.device('cpu'))
    assert embed((4, 6), torch.device('cpu')) is first and first.shape == (1, 24, 8)
    assert embed((4, 6), torch.device('cpu'), torch.float64).dtype == torch.float64
    assert not list(embed.state_dict())


# ----------------------------------------------------------------------- outputs
@pytest.mark.parametrize('out_type,shape', [('raw', (2, 16, 32)),
                                            ('featmap', (2, 32, 4, 4)),
                                            ('avg_featmap', (2, 32))])
def test_out_types(out_type, shape):
    outs = tiny(out_type=out_type, out_indices=(1, -1))(torch.randn(2, 3, 16, 16))
    assert isinstance(outs, tuple) and [o.shape for o in outs] == [shape] * 2


def test_featmap_is_nchw_of_raw_tokens():
    x = torch.randn(1, 3, 16, 12)
    raw = tiny(out_type='raw', out_indices=[1])(x)[0]
    fmap = tiny(out_type='featmap', out_indices=[1])(x)[0]
    assert fmap.shape == (1, 32, 4, 3)
    assert torch.equal(fmap[0, :, 2, 1], raw[0, 2 * 3 + 1])


def test_avg_layers_is_mean_of_block_outputs():
    x = torch.randn(2, 3, 16, 16)
    raw = tiny(out_type='raw', out_indices=[1, 2], final_norm=False)(x)
    avg = tiny(out_type='avg_layers', out_indices=[1, 2])(x)
    assert len(avg) == 1 and avg[0].shape == (2, 16, 32)
    assert torch.allclose(avg[0], (raw[0] + raw[1]) / 2, atol=1e-6)
    normed = tiny(out_type='avg_layers', out_indices=[1, 2], avg_layers_norm=True)
    assert torch.allclose(normed(x)[0], normed.ln1(avg[0]), atol=1e-5)


def test_blocks_after_last_index_are_not_run():
    model = tiny(out_type='avg_layers', out_indices=[0, 1])
    calls = []
    model.layers[2].register_forward_hook(lambda *_: calls.append(2))
    model(torch.randn(1, 3, 16, 16))
    assert not calls


@pytest.mark.parametrize('hw,grid', [((30, 30), (8, 8)), ((17, 9), (5, 3))])
def test_non_multiple_inputs_are_padded(hw, grid):
    out = tiny(out_type='featmap')(torch.randn(1, 3, *hw))[0]
    assert out.shape == (1, 32, *grid)


def test_final_norm_only_on_last_block():
    model = tiny(out_type='raw', out_indices=[2, 3])
    x = torch.randn(1, 3, 16, 16)
    no_norm = tiny(out_type='raw', out_indices=[2, 3], final_norm=False)(x)
    ours = model(x)
    assert torch.equal(ours[0], no_norm[0])
    assert torch.allclose(ours[1], model.ln1(no_norm[1]), atol=1e-6)


# ------------------------------------------------------------- training conventions
def test_frozen_stages():
    model = tiny(frozen_stages=2)
    model.train()
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert not model.layers[0].training and model.layers[2].training
    assert model.ln1.weight.requires_grad
    all_frozen = tiny(frozen_stages=4)
    all_frozen.train()
    assert not any(p.requires_grad for p in all_frozen.parameters())


def test_with_cp_same_output_and_grads():
    x = torch.randn(2, 3, 16, 16)
    prefix_len = torch.tensor([2, 5])
    grads = []
    for with_cp in (False, True):
        model = tiny(with_cp=with_cp).train()
        out = model(x, prefix_len=prefix_len)[0]
        out.sum().backward()
        grads.append((out.detach(), model.layers[0].attn.qkv.weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-6)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-5)


def test_get_layer_depth():
    model = tiny()
    assert model.get_layer_depth('backbone.patch_embed.norm.weight', 'backbone.') == \
        (0, 6)
    assert model.get_layer_depth('backbone.layers.2.ffn.fc1.weight', 'backbone.') == \
        (3, 6)
    assert model.get_layer_depth('backbone.ln1.weight', 'backbone.') == (5, 6)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (5, 6)


def test_pretrained_init_cfg(tmp_path):
    source = tiny()
    path = tmp_path / 'w.pth'
    torch.save(
        {'state_dict': {
            f'backbone.{k}': v
            for k, v in source.state_dict().items()
        }}, path)
    torch.manual_seed(1)
    model = AIM(
        arch=TINY,
        patch_size=4,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_builds_from_every_scope(scope):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(
            dict(type='AIM', arch=TINY, patch_size=4, out_type='featmap'))
    assert isinstance(model, AIM)
    assert model(torch.randn(1, 3, 16, 16))[0].shape == (1, 32, 4, 4)
