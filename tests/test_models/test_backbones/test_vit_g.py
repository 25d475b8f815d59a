"""ViTG: output types, position-embedding resize, padding, freezing, errors and the
meta-device build."""
import pytest
import torch
from mmpretrain.models.utils import resize_pos_embed

from visionllama_mm.models import ViTG

ARCH = dict(embed_dims=32, num_layers=3, num_heads=4, feedforward_channels=64)


def vit(**kwargs) -> ViTG:
    torch.manual_seed(0)
    model = ViTG(**{'arch': ARCH, 'img_size': 28, **kwargs})
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('out_type,shape', [('raw', (2, 12, 32)),
                                            ('featmap', (2, 32, 3, 4)),
                                            ('avg_featmap', (2, 32)), ('map', (2, 32))])
def test_output_types_on_a_padded_input(out_type, shape):
    # 30 x 44 is not a multiple of 14: padded to 42 x 56 -> a 3 x 4 grid
    outs = vit(out_type=out_type)(torch.randn(2, 3, 30, 44))
    assert len(outs) == 1 and outs[0].shape == shape


def test_out_indices_and_featmap_stride():
    model = vit(out_type='featmap', out_indices=(0, -1), featmap_stride=16)
    outs = model(torch.randn(1, 3, 64, 96))  # 5 x 7 grid -> 4 x 6 at stride 16
    assert [o.shape for o in outs] == [(1, 32, 4, 6)] * 2
    assert model.out_indices == [0, 2]


def test_featmap_is_the_token_grid():
    model = vit(out_type='featmap', final_norm=False)
    images = torch.randn(1, 3, 28, 42)
    fmap = model(images)[0]
    tokens = vit(out_type='raw', final_norm=False)(images)[0]
    torch.testing.assert_close(fmap.flatten(2).transpose(1, 2), tokens)


def test_pos_embed_is_resized_bicubically_on_the_fly():
    small = vit(out_type='raw')
    images = torch.randn(1, 3, 56, 42)
    big = vit(out_type='raw', img_size=(56, 42))
    state = small.state_dict()
    state['pos_embed'] = resize_pos_embed(
        small.pos_embed, (2, 2), (4, 3), mode='bicubic', num_extra_tokens=0)
    big.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(small(images)[0], big(images)[0])
    assert small.pos_embed.shape == (1, 4, 32)  # nothing stored


def test_frozen_stages():
    model = vit(frozen_stages=2)
    model.train()
    assert not model.pos_embed.requires_grad
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert all(p.requires_grad for p in model.attn_pool.parameters())
    assert not model.layers[0].training and model.layers[2].training
    frozen = vit(frozen_stages=3)
    assert not any(p.requires_grad for p in frozen.parameters())  # incl. MAP + ln1


def test_with_cp_gives_the_same_values_and_gradients():
    images = torch.randn(2, 3, 28, 28)
    grads = []
    for with_cp in (False, True):
        model = vit(with_cp=with_cp).train()
        model(images)[0].sum().backward()
        grads.append(model.layers[0].attn.qkv.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_layer_depth():
    model = vit()
    assert model.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.patch_embed.projection.weight',
                                 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.layers.1.ffn.fc1.weight',
                                 'backbone.') == (2, 5)
    assert model.get_layer_depth('backbone.attn_pool.latent', 'backbone.') == (4, 5)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (4, 5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(out_type='cls_token'), "out_type must be one of"),
    (dict(out_indices=3), 'out of range: allowed -3..2'),
    (dict(out_type='map', out_indices=(0, 2)), "out_indices must be -1"),
    (dict(arch='xxl'), "arch 'xxl' is not one of"),
    (dict(arch=dict(embed_dims=32, num_layers=1)), 'misses keys'),
    (dict(arch=dict(ARCH, num_heads=5)), 'divisible by num_heads'),
    (dict(out_type='raw', featmap_stride=16), 'featmap_stride'),
    (dict(interpolate_mode='area'), 'interpolate_mode must be one of'),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ViTG(**{'arch': ARCH, 'img_size': 28, **kwargs})


def test_input_smaller_than_a_patch():
    with pytest.raises(ValueError, match='smaller than one patch'):
        vit()(torch.randn(1, 3, 10, 28))


@pytest.mark.parametrize('arch,width,depth,trunk_millions',
                         [('G', 1664, 48, 1842.8), ('gigantic', 1664, 48, 1842.8),
                          ('g', 1408, 40, 1011.2)])
def test_full_size_archs_build_on_the_meta_device(arch, width, depth, trunk_millions):
    with torch.device('meta'):
        model = ViTG(arch)
    assert (model.embed_dims, model.num_layers) == (width, depth)
    assert model.pos_embed.shape == (1, 256, width)  # 224 / 14 = 16 x 16, no cls token
    pool = sum(p.numel() for p in model.attn_pool.parameters())
    trunk = sum(p.numel() for p in model.parameters()) - pool
    assert trunk / 1e6 == pytest.approx(trunk_millions, abs=0.1)
