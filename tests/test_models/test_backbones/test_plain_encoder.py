"""The plain-encoder skeleton shared by VisionLLaMA, MAEVisionLLaMA, AIM and ViT-G."""
import pytest
import torch
from torch import nn

from visionllama_mm.models import AIM, MAEVisionLLaMA, VisionLLaMA, ViTG
from visionllama_mm.models.backbones import PlainEncoder
from visionllama_mm.models.layers import GELUMLP, SplitSwiGLUFFN, TransformerBlock

ARCH = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
BACKBONES = {
    'visionllama': lambda **kw: VisionLLaMA(ARCH, img_size=32, patch_size=8, **kw),
    'mae': lambda **kw: MAEVisionLLaMA(ARCH, img_size=32, patch_size=8, **kw),
    'aim': lambda **kw: AIM(ARCH, img_size=32, patch_size=8, **kw),
    'vitg': lambda **kw: ViTG(ARCH, img_size=32, patch_size=8, **kw),
}


class TinyEncoder(PlainEncoder):
    """A backbone that says only what differs: its arch zoo."""
    arch_zoo = {'t': ARCH}


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_every_plain_backbone_is_the_skeleton_with_one_block(name):
    model = BACKBONES[name]()
    assert isinstance(model, PlainEncoder)
    assert all(type(layer) is TransformerBlock for layer in model.layers)
    ffn = GELUMLP if name in ('aim', 'vitg') else SplitSwiGLUFFN
    assert all(isinstance(layer.ffn, ffn) for layer in model.layers)


@pytest.mark.parametrize('pos', ['rope', 'sincos', 'learned', 'none'])
def test_position_schemes_of_the_skeleton(pos):
    model = TinyEncoder(
        't',
        img_size=32,
        patch_size=8,
        pos_embed_type=pos,
        with_cls_token=True,
        out_type='cls_token').eval()
    if pos == 'learned':  # zeros until init; std 1 so that its effect shows
        nn.init.normal_(model.pos_embed)
    x = torch.randn(2, 3, 32, 32)
    other = torch.randn(2, 3, 40, 24)  # another grid: tables are made or resized
    with torch.no_grad():
        out, = model(x)
        assert model(other)[0].shape == (2, 32)
        # the scheme acts: swapping two patches changes the class token unless no
        # position is given (attention alone is permutation-equivariant)
        swapped = x.clone()
        swapped[..., :8, :8], swapped[..., :8, 8:16] = x[..., :8, 8:16], x[..., :8, :8]
        diff = (model(swapped)[0] - out).abs().amax().item()
    if pos == 'none':
        assert diff < 1e-5
    else:
        assert diff > 1e-3
    assert ('pos_embed' in dict(model.named_parameters())) == (pos == 'learned')


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_layer_depth_is_shared(name):
    model = BACKBONES[name]()
    depth = {
        n: model.get_layer_depth(n, 'backbone.')[0]
        for n, _ in model.named_parameters(prefix='backbone')
    }
    num_depths = model.get_layer_depth('backbone.ln1.weight', 'backbone.')[1]
    assert num_depths == 4 + 2
    for param, value in depth.items():
        if param.split('.')[1] in ('cls_token', 'pos_embed', 'patch_embed'):
            assert value == 0, param
        elif param.startswith('backbone.layers.'):
            assert value == int(param.split('.')[2]) + 1, param
        else:
            assert value == num_depths - 1, param


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_freezing_every_block_freezes_everything(name):
    model = BACKBONES[name](frozen_stages=4)
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not any(m.training for m in model.modules()
                   if m is not model and not isinstance(m, nn.ModuleList))
    partly = BACKBONES[name](frozen_stages=1)
    trainable = {n for n, p in partly.named_parameters() if p.requires_grad}
    assert not any(
        n.startswith(('patch_embed', 'layers.0.', 'cls_token', 'pos_embed'))
        for n in trainable)
    assert any(n.startswith('layers.1.') for n in trainable)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_norm_cfg_reaches_every_norm(name):
    kwargs = dict(out_type='avg_featmap') if name != 'mae' else {}
    model = BACKBONES[name](norm_cfg=dict(type='LN', eps=1e-3), **kwargs)
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) >= 2 * 4 + 1
    assert all(m.eps == 1e-3 for m in norms)


@pytest.mark.parametrize('arg, value, message', [
    ('pos_embed_type', 'abs', r"pos_embed_type must be one of \('rope', 'sincos'"),
    ('ffn_type', 'geglu', r"ffn_type must be one of \('mlp', 'swiglu'\)"),
    ('out_type', 'map', r"out_type must be one of \('raw', 'cls_token'"),
    ('out_indices', 4, r'out_indices entry 4 is out of range: allowed -4..3'),
    ('patch_size', 0, 'patch_size must be a positive int'),
    ('img_size', 0, 'img_size must be a positive int'),
])
def test_bad_arguments_are_named(arg, value, message):
    with pytest.raises(ValueError, match=message):
        TinyEncoder('t', **{arg: value})


def test_heads_must_divide_width():
    with pytest.raises(
            ValueError, match=r'embed_dims \(32\) must be divisible by '
            r'num_heads \(3\)'):
        TinyEncoder(dict(ARCH, num_heads=3))


def test_blocks_after_the_last_output_are_not_run():
    model = TinyEncoder('t', img_size=32, patch_size=8, out_indices=(0, 1)).eval()
    calls = []
    for i, layer in enumerate(model.layers):
        layer.register_forward_hook(lambda *_, i=i: calls.append(i))
    model(torch.randn(1, 3, 32, 32))
    assert calls == [0, 1]


def test_rmsnorm_is_one_config_line():
    """``norm_cfg`` switches every norm of a plain backbone, e.g. to LLaMA's RMSNorm
    (registered as ``RMSNorm``), without touching a backbone file."""
    ln = BACKBONES['visionllama']().eval()
    rms = BACKBONES['visionllama'](norm_cfg=dict(type='RMSNorm', eps=1e-6)).eval()
    assert not any(isinstance(m, nn.LayerNorm) for m in rms.modules())
    assert sum(isinstance(m, nn.RMSNorm) for m in rms.modules()) == 2 * 4 + 1
    rms.load_state_dict({
        k: v
        for k, v in ln.state_dict().items() if k in rms.state_dict()
    })
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (rms(x)[0] - ln(x)[0]).abs().amax() > 1e-3
