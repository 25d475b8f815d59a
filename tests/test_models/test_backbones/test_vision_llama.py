import pytest
import torch

from visionllama_mm.models import VisionLLaMA

TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)


def tiny(**kwargs):
    cfg = dict(arch=TINY, img_size=32, patch_size=8)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = VisionLLaMA(**cfg)
    model.init_weights()
    return model


def test_arch_zoo_matches_release():
    zoo = VisionLLaMA.arch_zoo
    assert [zoo[a]['feedforward_channels'] for a in ('s', 'b', 'l')] == [1024, 2048, 2816]
    assert [zoo[a]['feedforward_channels'] for a in ('b-mae', 'l-mae')] == [8192, 11008]
    assert (zoo['b']['embed_dims'], zoo['b']['num_layers'], zoo['b']['num_heads']) == \
        (768, 12, 12)
    assert (zoo['l']['embed_dims'], zoo['l']['num_layers'], zoo['l']['num_heads']) == \
        (1024, 24, 16)
    assert not zoo['s']['ffn_bias'] and zoo['b-mae']['ffn_bias']


def test_small_param_count():
    model = VisionLLaMA('s', out_type='avg_featmap', with_cls_token=False)
    params = sum(p.numel() for p in model.parameters())
    # 12 blocks of (qkv+proj with bias, 3 SwiGLU mats without bias, 2 LN, 2 gammas)
    per_block = 4 * 384 * 384 + 4 * 384 + 3 * 384 * 1024 + 4 * 384 + 2 * 384
    assert params == 12 * per_block + 3 * 16 * 16 * 384 + 384 + 2 * 2 * 384


@pytest.mark.parametrize('out_type,shape', [('raw', (2, 17, 32)), ('cls_token', (2, 32)),
                                            ('featmap', (2, 32, 4, 4)),
                                            ('avg_featmap', (2, 32))])
def test_out_types(out_type, shape):
    model = tiny(out_type=out_type, out_indices=(1, -1))
    outs = model(torch.randn(2, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == 2
    assert all(o.shape == shape for o in outs)


def test_without_cls_token():
    model = tiny(with_cls_token=False, out_type='raw')
    assert not hasattr(model, 'cls_token')
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 16, 32)


@pytest.mark.parametrize('hw,grid', [((64, 64), (8, 8)), ((40, 24), (5, 3)),
                                     ((50, 70), (7, 9))])
def test_any_input_size(hw, grid):
    model = tiny(out_type='featmap')
    out = model(torch.randn(1, 3, *hw))[0]
    assert out.shape == (1, 32, *grid)  # non-multiples are padded, never cropped


def test_padding_keeps_border_pixels():
    model = tiny(out_type='featmap', with_cls_token=False).eval()
    x = torch.zeros(1, 3, 36, 36)
    base = model(x)[0]
    x[..., 35, 35] = 5.  # a pixel only a padded last patch can see
    assert not torch.allclose(model(x)[0], base)


def test_cls_token_rope_coordinate():
    model = tiny()
    assert model.cls_coord((3, 5)) == (4., -1.)
    assert tiny(cls_token_coord=(0.5, 0.5)).cls_coord((3, 5)) == (0.5, 0.5)


def test_as2d_equals_2d_at_training_size():
    x = torch.randn(1, 3, 32, 32)
    a = tiny(rope_type='2d')(x)[0]
    b = tiny(rope_type='as2d')(x)[0]
    assert torch.equal(a, b)
    c = tiny(rope_type='as2d')(torch.randn(1, 3, 64, 48))[0]
    assert c.shape == (1, 32)


def test_frozen_stages():
    model = tiny(frozen_stages=2)
    model.train()
    assert not model.patch_embed.projection.weight.requires_grad
    assert not model.cls_token.requires_grad
    for i, layer in enumerate(model.layers):
        assert all(p.requires_grad == (i >= 2) for p in layer.parameters())
        assert layer.training == (i >= 2)
    assert model.ln1.weight.requires_grad


def test_with_cp_same_outputs_and_grads():
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for with_cp in (False, True):
        model = tiny(with_cp=with_cp, drop_path_rate=0.)
        model.train()
        out = model(x)[0]
        out.sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    assert torch.allclose(grads[0][0], grads[1][0])
    for g0, g1 in zip(grads[0][1], grads[1][1]):
        assert torch.allclose(g0, g1, atol=1e-6)


def test_layer_depth():
    model = tiny()
    assert model.get_layer_depth('backbone.cls_token', 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.patch_embed.projection.weight',
                                 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.layers.2.attn.qkv.weight',
                                 'backbone.') == (3, 6)
    assert model.get_layer_depth('backbone.ln1.weight', 'backbone.') == (5, 6)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (5, 6)


def test_drop_path_ramp():
    model = tiny(drop_path_rate=0.3)
    rates = [getattr(layer.drop_path, 'drop_prob', 0.) for layer in model.layers]
    assert rates[0] == 0. and rates[-1] == pytest.approx(0.3)
    model = tiny(drop_path_rate=0.3, drop_path_mode='uniform')
    assert all(layer.drop_path.drop_prob == pytest.approx(0.3) for layer in model.layers)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='xl'), r"arch 'xl' is not one of \['b', 'b-mae'"),
    (dict(arch=dict(embed_dims=8)), 'misses keys'),
    (dict(out_indices=(4, )), r'out_indices entry 4 is out of range: allowed -4..3'),
    (dict(out_type='tokens'), 'out_type must be one of'),
    (dict(out_type='cls_token', with_cls_token=False), 'with_cls_token=True'),
    (dict(rope_type='3d'), 'rope_type must be one of'),
    (dict(patch_size=0), 'patch_size must be a positive int'),
    (dict(drop_path_mode='cosine'), "drop_path_mode must be 'linear' or 'uniform'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


def test_image_smaller_than_patch():
    with pytest.raises(ValueError, match='smaller than one patch'):
        tiny()(torch.randn(1, 3, 4, 32))


def test_pretrained_init_cfg(tmp_path):
    src = tiny()
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': {
        f'backbone.{k}': v
        for k, v in src.state_dict().items()
    }}, ckpt)
    dst = VisionLLaMA(
        arch=TINY,
        img_size=32,
        patch_size=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    dst.init_weights()
    for key, value in src.state_dict().items():
        assert torch.equal(value, dst.state_dict()[key]), key


def test_compiles_fullgraph_forward_and_backward():
    model = tiny(out_type='avg_featmap', rope_type='as2d')
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    for size in (32, 48):
        x = torch.randn(2, 3, size, size)
        out = compiled(x)[0]
        assert torch.allclose(out, model(x)[0], atol=1e-5)
        out.sum().backward()


def test_pretrained_without_matching_keys_is_an_error(tmp_path):
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.stem.conv.weight': torch.zeros(1)}}, ckpt)
    model = VisionLLaMA(
        arch=TINY,
        img_size=32,
        patch_size=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    with pytest.raises(ValueError, match=f'{ckpt} has no key in common'):
        model.init_weights()


def test_pretrained_shape_mismatch_is_an_error(tmp_path):
    ckpt = tmp_path / 'wide.pth'
    wide = VisionLLaMA(arch=dict(TINY, embed_dims=64), img_size=32, patch_size=8)
    torch.save({'state_dict': {
        f'backbone.{k}': v
        for k, v in wide.state_dict().items()
    }}, ckpt)
    model = VisionLLaMA(
        arch=TINY,
        img_size=32,
        patch_size=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    with pytest.raises(ValueError, match='shape mismatch'):
        model.init_weights()
