import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from visionllama_mm.models import MAEVisionLLaMA, VisionLLaMA
from visionllama_mm.models.layers import apply_rope, grid_coords

TINY = dict(
    embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, ffn_bias=True)


def encoder(**kwargs):
    torch.manual_seed(0)
    model = MAEVisionLLaMA(arch=TINY, img_size=32, patch_size=8, **kwargs)
    model.init_weights()
    return model.eval()


def test_masking_keeps_each_tokens_coordinate():
    model = encoder()
    x = torch.randn(3, 16, 32)
    coords = grid_coords(4, 4)
    kept, mask, ids_restore, kept_coords = model.random_masking(x, 0.75, coords)
    assert kept.shape == (3, 4, 32) and mask.sum(1).tolist() == [12, 12, 12]
    for b in range(3):
        for token, coord in zip(kept[b], kept_coords[b]):
            index = int(coord[1] * 4 + coord[0])
            assert torch.equal(token, x[b, index])  # token travels with its coordinate
            assert mask[b, index] == 0
    # a kept token's rotation equals the one it gets in the unmasked grid
    q = torch.randn(3, 2, 16, 16)
    full = apply_rope(q, model.rope(coords, (4, 4)))
    index = (kept_coords[..., 1] * 4 + kept_coords[..., 0]).long()
    q_kept = torch.gather(q, 2, index[:, None, :, None].expand(-1, 2, -1, 16))
    rotated = apply_rope(q_kept, model.rope(kept_coords, (4, 4)))
    expected = torch.gather(full, 2, index[:, None, :, None].expand(-1, 2, -1, 16))
    assert torch.allclose(rotated, expected, atol=1e-6)


@pytest.mark.parametrize('cls_in_blocks', [False, True])
def test_encoder_equals_plain_backbone_on_visible_tokens(cls_in_blocks):
    model = encoder(mask_ratio=0.0, cls_token_in_blocks=cls_in_blocks)
    plain = VisionLLaMA(
        arch=TINY,
        img_size=32,
        patch_size=8,
        out_type='raw',
        with_cls_token=cls_in_blocks).eval()
    state = {
        k: v
        for k, v in model.state_dict().items() if cls_in_blocks or k != 'cls_token'
    }
    plain.load_state_dict(state)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        latent, mask, ids_restore = model(images)
        reference = plain(images)[0]
    assert latent.shape == (2, 17, 32) and mask.sum() == 0
    patches = latent[:, 1:]
    restored = torch.gather(patches, 1, ids_restore.unsqueeze(-1).expand(-1, -1, 32))
    ref_patches = reference[:, 1:] if cls_in_blocks else reference
    assert torch.allclose(restored, ref_patches, atol=1e-5)
    if cls_in_blocks:
        assert torch.allclose(latent[:, 0], reference[:, 0], atol=1e-5)


def test_mask_none_is_plain_forward():
    model = encoder()
    outs = model(torch.randn(1, 3, 32, 32), mask=None)
    assert isinstance(outs, tuple) and outs[0].shape == (1, 17, 32)


def test_mae_loss_on_tiny_inputs():
    cfg = dict(
        type='MAE',
        backbone=dict(
            type='MAEVisionLLaMA', arch=TINY, img_size=32, patch_size=8, mask_ratio=0.75),
        neck=dict(
            type='MAEPretrainDecoder',
            num_patches=16,
            patch_size=8,
            in_chans=3,
            embed_dim=32,
            decoder_embed_dim=16,
            decoder_depth=1,
            decoder_num_heads=2),
        head=dict(
            type='MAEPretrainHead',
            norm_pix=True,
            patch_size=8,
            loss=dict(type='PixelReconstructionLoss', criterion='L2')))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    losses = model.loss(torch.randn(2, 3, 32, 32), [])
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    losses['loss'].backward()
    assert model.backbone.layers[0].attn.qkv.weight.grad is not None


def test_needs_cls_token():
    with pytest.raises(ValueError, match='with_cls_token=True'):
        MAEVisionLLaMA(arch=TINY, with_cls_token=False)
