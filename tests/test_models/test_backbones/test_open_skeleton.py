"""The skeleton's extension points: one layer of defaults (each registered class's
signature), ``layer_cfgs`` per-block mixers, the keyword block context, the pooling
hook before freezing, and what backbones tell pre-flight checks (``out_channels``,
``out_strides``, ``MAP_OUT_TYPES``)."""
import inspect
from typing import Tuple

import pytest
import torch
from mmpretrain.models.utils import LayerScale
from mmpretrain.registry import MODELS
from torch import nn

import visionllama_mm  # noqa: F401
from visionllama_mm.models import (AIM, MAEVisionLLaMA, PyramidVisionLLaMA, VisionLLaMA,
                                   ViTG)
from visionllama_mm.models.backbones import PlainEncoder
from visionllama_mm.models.layers import MIXERS, LocallyGroupedAttention, RoPEAttention

TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
PYRAMID = dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[1, 2])
PLAIN = (VisionLLaMA, MAEVisionLLaMA, AIM, ViTG)


# ----------------------------------------------------------------- one layer of defaults
@pytest.mark.parametrize('name', ['VisionLLaMA', 'MAEVisionLLaMA', 'AIM', 'ViTG'])
def test_the_registered_signature_shows_the_defaults_the_class_takes(name):
    """Building with every default the signature shows, written out, gives the same
    model as building with none."""
    cls = MODELS.get(name)
    params = inspect.signature(cls).parameters
    assert not any(p.kind == p.VAR_KEYWORD for p in params.values())
    explicit = {n: p.default for n, p in params.items() if n not in ('arch', 'init_cfg')}
    torch.manual_seed(0)
    implicit_model = cls(arch=TINY)
    torch.manual_seed(0)
    explicit_model = cls(arch=TINY, **explicit)
    assert {k: v.shape for k, v in implicit_model.state_dict().items()} == \
        {k: v.shape for k, v in explicit_model.state_dict().items()}
    for attr in ('out_type', 'patch_size', 'pos_embed_type', 'with_cls_token'):
        assert getattr(implicit_model, attr) == getattr(explicit_model, attr)
        assert getattr(implicit_model, attr) == params[attr].default


@pytest.mark.parametrize('cls,defaults', [
    (VisionLLaMA,
     dict(
         arch='b',
         out_type='cls_token',
         with_cls_token=True,
         patch_size=16,
         ffn_type='swiglu',
         window_size=0)),
    (MAEVisionLLaMA,
     dict(arch='b-mae', out_type='raw', with_cls_token=True, mask_ratio=0.75)),
    (AIM,
     dict(
         arch='600m',
         out_type='raw',
         patch_size=14,
         pos_embed_type='sincos',
         ffn_type='mlp',
         qkv_bias=False,
         ffn_bias=False,
         patch_norm=True)),
    (ViTG,
     dict(
         arch='G',
         out_type='map',
         patch_size=14,
         pos_embed_type='learned',
         ffn_type='mlp',
         drop_path_rate=0.)),
    (PyramidVisionLLaMA, dict(arch='s', out_type='featmap', patch_size=4)),
])
def test_defaults_have_one_home(cls, defaults):
    params = inspect.signature(cls).parameters
    assert {k: params[k].default for k in defaults} == defaults
    assert not hasattr(cls, 'DEFAULTS') and not hasattr(cls, 'ARCH_DEFAULTS')


def test_arch_keys_fill_arguments_left_none():
    with torch.device('meta'):
        supervised, mae = VisionLLaMA('s'), VisionLLaMA('b-mae')
        overridden = VisionLLaMA('b-mae', ffn_bias=False)
    assert isinstance(supervised.layers[0].gamma1, LayerScale)
    assert supervised.layers[0].ffn.w3.bias is None
    assert isinstance(mae.layers[0].gamma1, nn.Identity)
    assert mae.layers[0].ffn.w3.bias is not None
    # a custom dict without them: LLaMA's bias-free SwiGLU, ViT's biased MLP, no scale
    assert VisionLLaMA(TINY).layers[0].ffn.w3.bias is None
    assert ViTG(TINY).layers[0].ffn.fc2.bias is not None
    assert isinstance(VisionLLaMA(TINY).layers[0].gamma1, nn.Identity)
    # an argument overrides a zoo entry
    assert overridden.layers[0].ffn.w3.bias is None
    # an argument given wins over a custom dict too (e.g. --cfg-options)
    assert VisionLLaMA(dict(TINY, ffn_bias=True), ffn_bias=False).layers[0].ffn.w3.bias \
        is None


# -------------------------------------------------------------- per-block mixer choice
def test_window_arguments_are_layer_cfgs():
    """ViTDet's window_block_indexes is one way to write per-block attn_cfg."""
    common = dict(img_size=32, patch_size=8, with_cls_token=False, out_type='featmap')
    window = dict(
        attn_cfg=dict(
            type='LocallyGroupedAttention', window_size=3, rope_coords='global'))
    torch.manual_seed(0)
    by_index = VisionLLaMA(
        TINY,
        window_size=3,
        window_block_indexes=[0, -2],
        window_rope_coords='global',
        **common).eval()
    torch.manual_seed(0)
    by_cfg = VisionLLaMA(TINY, layer_cfgs=[window, {}, window, {}], **common).eval()
    kinds = [type(layer.attn) for layer in by_cfg.layers]
    assert kinds == [LocallyGroupedAttention, RoPEAttention] * 2
    x = torch.randn(2, 3, 40, 56)
    torch.testing.assert_close(by_index(x), by_cfg(x), rtol=0, atol=0)


def test_any_plain_backbone_takes_window_blocks_through_layer_cfgs():
    window = dict(attn_cfg=dict(type='LocallyGroupedAttention', window_size=2))
    model = AIM(
        TINY, img_size=32, patch_size=8, out_type='featmap',
        layer_cfgs=window).eval()  # every block windowed
    assert all(isinstance(layer.attn, LocallyGroupedAttention) for layer in model.layers)
    assert model.layers[2].attn.proj.bias is None  # AIM's proj_bias=False reaches it
    x = torch.randn(1, 3, 40, 24)  # a 5 x 3 grid: windows of rows 0-1, 2-3, 4
    out = model(x)[0]
    x2 = x.clone()
    x2[..., 32:, 16:] += 3.  # the bottom-right patch only
    diff = (model(x2)[0] - out).abs().sum(1)[0]
    assert out.shape == (1, 32, 5, 3)
    assert diff[:4].max() == 0 and diff[4, :2].max() == 0 and diff[4, 2] > 0


def test_layer_cfgs_override_block_arguments():
    model = VisionLLaMA(
        TINY, img_size=32, patch_size=8, layer_cfgs=dict(layer_scale_init_value=0.5))
    assert all(layer.gamma1.weight[0].item() == 0.5 for layer in model.layers)
    rates = VisionLLaMA(
        TINY,
        img_size=32,
        patch_size=8,
        drop_path_rate=0.3,
        layer_cfgs=[{}, {}, {}, dict(drop_path_rate=0.)])
    assert [getattr(layer.drop_path, 'drop_prob', 0.) for layer in rates.layers] == \
        pytest.approx([0., 0.1, 0.2, 0.])


@pytest.mark.parametrize('layer_cfgs,match', [
    ([{}, {}], r'layer_cfgs must be one dict for every block or a list of 4 dicts'),
    (dict(attn=1), r"layer_cfgs\[0\] has unknown keys \['attn'\]: a block takes"),
    (dict(attn_cfg=dict(type='Axial')),
     r"attn_cfg type 'Axial' is not a token mixer: choose one of \["),
    (dict(attn_cfg=dict(type='LocallyGroupedAttention')),
     r'block 0 \(LocallyGroupedAttention.*needs with_cls_token=False'),
])
def test_bad_layer_cfgs_are_named(layer_cfgs, match):
    with pytest.raises(ValueError, match=match):
        VisionLLaMA(TINY, img_size=32, patch_size=8, layer_cfgs=layer_cfgs)


class ContextProbe(nn.Module):
    """A new token mixer: records the block context it is given."""
    seen = []

    def __init__(self, embed_dims: int, num_heads: int) -> None:
        super().__init__()
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x, hw=None, rope=None, key_rope=None, attn_mask=None):
        self.seen.append(
            dict(
                hw=tuple(hw),
                rope=None if rope is None else tuple(rope[0].shape),
                key_rope=key_rope,
                attn_mask=attn_mask))
        return self.proj(x)


@pytest.fixture
def probe_mixer():
    MIXERS.register_module(module=ContextProbe)
    ContextProbe.seen.clear()
    yield ContextProbe
    MIXERS._module_dict.pop('ContextProbe')


def test_a_new_mixer_needs_no_change_to_the_block_loop(probe_mixer):
    model = VisionLLaMA(
        TINY,
        img_size=32,
        patch_size=8,
        layer_cfgs=[{}, dict(attn_cfg=dict(type='ContextProbe')), {}, {}])
    assert isinstance(model.layers[1].attn, probe_mixer)
    out = model(torch.randn(2, 3, 40, 24))[0]
    assert out.shape == (2, 32)
    # the grid of a 40 x 24 input, and its RoPE tables with the class token's row
    assert probe_mixer.seen == [
        dict(hw=(5, 3), rope=(1, 16, 16), key_rope=None, attn_mask=None)
    ]


def test_window_blocks_refuse_a_mask_they_cannot_apply():
    window = dict(attn_cfg=dict(type='LocallyGroupedAttention', window_size=2))
    model = AIM(TINY, img_size=32, patch_size=8, layer_cfgs=[window, {}, {}, {}])
    with pytest.raises(ValueError, match='LocallyGroupedAttention takes no attn_mask'):
        model(torch.randn(2, 3, 32, 32), prefix_len=torch.tensor([1, 3]))


# ---------------------------------------------------------------- pooling before freeze
def test_vitg_freezes_once_with_its_map_head(monkeypatch):
    calls = []
    original = PlainEncoder._freeze_stages

    def counted(self):
        calls.append(type(self).__name__)
        original(self)

    monkeypatch.setattr(PlainEncoder, '_freeze_stages', counted)
    model = ViTG(TINY, img_size=28, frozen_stages=4, map_feedforward_channels=48)
    assert calls == ['ViTG']
    assert model.attn_pool.mlp.fc1.out_features == 48
    assert not any(p.requires_grad for p in model.attn_pool.parameters())


# --------------------------------------------------------------- what checks can read
def _map_stride(x: torch.Tensor, out: torch.Tensor) -> Tuple[int, int]:
    return x.shape[-2] // out.shape[-2], x.shape[-1] // out.shape[-1]


@pytest.mark.parametrize('build', [
    lambda: VisionLLaMA(TINY, img_size=32, patch_size=8),
    lambda: VisionLLaMA(
        TINY,
        img_size=32,
        patch_size=8,
        with_cls_token=False,
        out_type='featmap',
        out_indices=(1, 3)),
    lambda: MAEVisionLLaMA(TINY, img_size=32, patch_size=8),
    lambda: AIM(
        TINY, img_size=32, patch_size=8, out_type='avg_layers', out_indices=(1, 2, 3)),
    lambda: AIM(TINY, img_size=32, patch_size=8, out_type='featmap'),
    lambda: ViTG(TINY, img_size=32, patch_size=8),
    lambda: ViTG(
        TINY,
        img_size=32,
        patch_size=8,
        out_type='featmap',
        out_indices=(0, 3),
        featmap_stride=4),
    lambda: PyramidVisionLLaMA(
        PYRAMID, window_sizes=2, sr_ratios=(2, 1), out_indices=(0, 1)),
    lambda: PyramidVisionLLaMA(
        PYRAMID, sr_ratios=(2, 1), out_indices=1, out_type='avg_featmap'),
    lambda: PyramidVisionLLaMA(
        dict(PYRAMID, embed_dims=[16, 48]),
        sr_ratios=(2, 1),
        patch_size=2,
        out_indices=(1, )),
])
def test_out_channels_and_strides_describe_the_outputs(build):
    model = build().eval()
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        outs = model(x, mask=False) if isinstance(model, MAEVisionLLaMA) else model(x)
    assert model.out_channels == tuple(o.shape[-1] if o.dim() == 3 else o.shape[1]
                                       for o in outs)
    maps = model.out_type in type(model).MAP_OUT_TYPES
    assert all(o.dim() == 4 for o in outs) == maps
    if maps:
        assert [(s, s) for s in model.out_strides] == [_map_stride(x, o) for o in outs]
    else:
        assert model.out_strides is None


def test_map_out_types_are_out_types():
    for cls in (*PLAIN, PyramidVisionLLaMA):
        assert set(cls.MAP_OUT_TYPES) <= set(cls.OUT_TYPES), cls


# ---------------------------------------------------------------- norm_cfg everywhere
def test_pyramid_norm_cfg_reaches_patch_and_gsa_norms():
    model = PyramidVisionLLaMA(
        PYRAMID,
        sr_ratios=(2, 1),
        out_indices=(0, 1),
        norm_after_stage=True,
        norm_cfg=dict(type='LN', eps=1e-3))
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    # 2 patch norms, 2 per block, 1 GSA reduction norm (sr 2), 2 stage norms
    assert len(norms) == 2 + 2 * 4 + 1 + 2
    assert all(m.eps == 1e-3 for m in norms)
    rms = PyramidVisionLLaMA(
        PYRAMID, sr_ratios=(2, 1), out_indices=(0, 1), norm_cfg=dict(type='RMSNorm'))
    assert not any(isinstance(m, nn.LayerNorm) for m in rms.modules())
    assert isinstance(rms.layers[0][1].attn.norm, nn.RMSNorm)
    assert isinstance(rms.patch_embeds[0].norm, nn.RMSNorm)
