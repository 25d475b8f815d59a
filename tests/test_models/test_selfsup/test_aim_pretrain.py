"""AIM autoregressive pretraining: targets, next-patch alignment, prefix-only loss."""
import pytest
import torch
from mmpretrain.registry import MODELS

import visionllama_mm  # noqa: F401
from visionllama_mm.models import AIMPixelHead, AIMPretrain
from visionllama_mm.models.heads.aim_pixel_head import (next_patch_loss_mask,
                                                        normalized_patch_targets,
                                                        patchify)

DIM, PATCH = 32, 4


def pretrain(**kwargs):
    cfg = dict(
        type='AIMPretrain',
        backbone=dict(
            type='AIM',
            arch=dict(embed_dims=DIM, num_layers=2, num_heads=2),
            img_size=16,
            patch_size=PATCH),
        head=dict(
            type='AIMPixelHead',
            in_channels=DIM,
            embed_dims=48,
            num_blocks=2,
            patch_size=PATCH))
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def head(**kwargs):
    torch.manual_seed(0)
    return AIMPixelHead(
        in_channels=DIM, embed_dims=48, num_blocks=2, patch_size=PATCH, **kwargs)


# ---------------------------------------------------------------------------- targets
def test_patchify_is_raster_order_channel_last():
    images = torch.randn(2, 3, 8, 12)
    patches = patchify(images, PATCH)
    assert patches.shape == (2, 6, PATCH * PATCH * 3)
    # patch 4 = row 1, column 1; values ordered (row, column, channel) in the patch
    expected = images[:, :, 4:8, 4:8].permute(0, 2, 3, 1).reshape(2, -1)
    assert torch.equal(patches[:, 4], expected)
    with pytest.raises(ValueError, match='not a multiple of patch_size=4'):
        patchify(torch.randn(1, 3, 10, 8), PATCH)


def test_normalized_targets_per_patch():
    images = torch.randn(2, 3, 8, 8) * 5 + 3
    target = normalized_patch_targets(images, PATCH)
    raw = patchify(images, PATCH)
    manual = (raw[1, 2] - raw[1, 2].mean()) / (raw[1, 2].var(unbiased=True) + 1e-6)**.5
    assert torch.allclose(target[1, 2], manual, atol=1e-5)
    assert torch.allclose(target.mean(-1), torch.zeros(2, 4), atol=1e-5)
    assert torch.allclose(target.std(-1), torch.ones(2, 4), atol=1e-4)  # unbiased
    flat = normalized_patch_targets(torch.ones(1, 3, 4, 4), PATCH)  # var 0: eps
    assert torch.equal(flat, torch.zeros_like(flat))


def test_next_patch_mask_alignment():
    mask = next_patch_loss_mask(torch.tensor([1, 3, 5]), 6)
    # column i = prediction at token i = target patch i + 1; counts iff i + 1 >= P
    assert mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1]]


# ------------------------------------------------------------------------------ loss
def test_loss_equals_manual_next_patch_mse():
    pixel_head = head()
    images = torch.randn(2, 3, 8, 8)
    pred = torch.randn(2, 4, PATCH * PATCH * 3)
    prefix_len = torch.tensor([1, 3])
    target = normalized_patch_targets(images, PATCH)
    terms = [((pred[b, i] - target[b, i + 1])**2).mean() for b, p in enumerate([1, 3])
             for i in range(p - 1, 3)]
    manual = torch.stack(terms).mean()  # 3 + 1 predictions counted
    assert len(terms) == 4
    assert torch.allclose(pixel_head.loss(pred, images, prefix_len), manual, atol=1e-6)


def test_loss_ignores_prefix_predictions_and_prefix_targets():
    pixel_head = head()
    images = torch.randn(1, 3, 8, 8)
    pred = torch.randn(1, 4, PATCH * PATCH * 3)
    prefix_len = torch.tensor([3])
    base = pixel_head.loss(pred, images, prefix_len)
    changed = pred.clone()
    changed[:, :2] += 10.  # predictions of patches 1 and 2: prefix targets
    changed[:, 3] += 10.  # the last token: no target at all
    assert torch.equal(pixel_head.loss(changed, images, prefix_len), base)
    changed[:, 2] += 1.  # predicts patch 3, the first non-prefix patch
    assert not torch.allclose(pixel_head.loss(changed, images, prefix_len), base)

    other = images.clone()
    other[..., :4, :] = torch.randn(1, 3, 4, 8)  # patches 0, 1 (row 0): prefix
    other[..., 4:, :4] = torch.randn(1, 3, 4, 4)  # patch 2: prefix
    assert torch.equal(pixel_head.loss(pred, other, prefix_len), base)
    other[..., 4:, 4:] += torch.randn(1, 3, 4, 4)  # patch 3: a target
    assert not torch.allclose(pixel_head.loss(pred, other, prefix_len), base)


def test_head_is_per_token_and_shapes():
    pixel_head = head().eval()
    x = torch.randn(2, 4, DIM)
    out = pixel_head(x, (2, 2))
    assert out.shape == (2, 4, PATCH * PATCH * 3)
    x2 = x.clone()
    x2[:, 1] += 1.
    diff = (pixel_head(x2, (2, 2)) - out).abs().amax(-1)
    assert (diff[:, [0, 2, 3]] == 0).all() and (diff[:, 1] > 0).all()  # no attention
    names = [n for n, _ in pixel_head.named_parameters()]
    assert len([n for n in names if n.startswith('blocks.')]) == 2 * 4  # ln w/b, fc1, fc2
    assert not [n for n in names if n.startswith('blocks.') and 'fc' in n and 'bias' in n]
    same = AIMPixelHead(in_channels=48, embed_dims=48, num_blocks=1, patch_size=PATCH)
    assert isinstance(same.proj, torch.nn.Identity)
    with pytest.raises(ValueError, match='does not match the targets'):
        pixel_head.loss(out, torch.randn(2, 3, 12, 12), torch.tensor([1, 1]))


# ----------------------------------------------------------------------- algorithm
def test_prefix_len_is_uniform_in_range():
    model = pretrain()
    torch.manual_seed(0)
    draws = model.sample_prefix_len(4000, 16, torch.device('cpu'))
    assert draws.min() == 1 and draws.max() == 15
    counts = torch.bincount(draws, minlength=16)[1:]
    assert counts.min() > 200 and counts.max() < 340  # ~267 each
    ranged = pretrain(prefix_range=(2, 4)).sample_prefix_len(500, 16, torch.device('cpu'))
    assert set(ranged.tolist()) == {2, 3, 4}


def test_loss_runs_trunk_prefix_causally(monkeypatch):
    model = pretrain()
    seen = {}
    original = model.backbone.forward

    def spy(x, prefix_len=None):
        seen['prefix_len'] = prefix_len
        return original(x, prefix_len=prefix_len)

    monkeypatch.setattr(model.backbone, 'forward', spy)
    images = torch.randn(3, 3, 16, 16)
    torch.manual_seed(3)
    losses = model.loss(images, None)
    prefix_len = seen['prefix_len']
    assert prefix_len.shape == (3, ) and ((prefix_len >= 1) & (prefix_len <= 15)).all()
    tokens = original(images, prefix_len=prefix_len)[0]
    expected = model.head.loss(model.head(tokens, (4, 4)), images, prefix_len)
    assert torch.allclose(losses['loss'], expected)
    losses['loss'].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_forward_through_data_preprocessor():
    model = pretrain()
    from mmpretrain.models import SelfSupDataPreprocessor
    assert isinstance(model.data_preprocessor, SelfSupDataPreprocessor)
    # default_collate stacks the images (the configs' collate_fn)
    data = dict(
        inputs=torch.randint(0, 255, (2, 3, 16, 16), dtype=torch.uint8),
        data_samples=[None, None])
    batch = model.data_preprocessor(data, training=True)
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    feats = model.extract_feat(torch.randn(1, 3, 16, 16))
    assert feats[0].shape == (1, 16, DIM)


def test_configuration_errors():
    with pytest.raises(ValueError, match="out_type='raw', out_indices=-1"):
        pretrain(
            backbone=dict(
                type='AIM',
                arch=dict(embed_dims=DIM, num_layers=2, num_heads=2),
                patch_size=PATCH,
                out_type='featmap'))
    with pytest.raises(ValueError, match='head.patch_size'):
        pretrain(
            head=dict(
                type='AIMPixelHead',
                in_channels=DIM,
                embed_dims=48,
                num_blocks=1,
                patch_size=8))
    with pytest.raises(ValueError, match='prefix_range'):
        pretrain(prefix_range=(0, 4))
    with pytest.raises(ValueError, match='leaves no patch to predict'):
        pretrain(prefix_range=(1, 16)).loss(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match='multiples of patch_size=4'):
        pretrain().loss(torch.randn(1, 3, 16, 18))
    assert isinstance(pretrain(), AIMPretrain)
