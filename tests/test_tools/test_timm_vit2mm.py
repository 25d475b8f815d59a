"""timm ViT (class_token=False, MAP / avg pooling) -> ViTG: the same numbers.

timm's ``VisionTransformer`` is built at tiny width with the ViT-G/14 structure (patch
14, no class token, ``global_pool='map'`` or ``'avg'``), random weights; the converted
state dict loads strictly into an mmpretrain ``ImageClassifier`` with ``ViTG`` and the
pooled features and logits match timm's to 1e-5.
"""
import subprocess
import sys

import pytest
import torch
from mmpretrain.models import build_classifier

import visionllama_mm  # noqa: F401
from visionllama_mm.models.converters import convert_timm_vit

timm_vit = pytest.importorskip('timm.models.vision_transformer')

DIM, DEPTH, HEADS, MLP_RATIO, CLASSES, SIZE = 32, 2, 4, 3.0, 5, 56
ARCH = dict(
    embed_dims=DIM,
    num_layers=DEPTH,
    num_heads=HEADS,
    feedforward_channels=int(DIM * MLP_RATIO))


def timm_model(global_pool: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm_vit.VisionTransformer(
        img_size=SIZE,
        patch_size=14,
        embed_dim=DIM,
        depth=DEPTH,
        num_heads=HEADS,
        mlp_ratio=MLP_RATIO,
        class_token=False,
        global_pool=global_pool,
        num_classes=CLASSES)
    with torch.no_grad():  # non-trivial norms and biases (timm inits them to 1 / 0)
        for name, param in model.named_parameters():
            if name.endswith('bias') or 'norm' in name:
                param.add_(0.1 * torch.randn_like(param))
    return model.eval()


def our_model(global_pool: str, map_head: bool = False) -> torch.nn.Module:
    if global_pool == 'avg':
        backbone = dict(out_type='avg_featmap', final_norm=False)
    else:
        backbone = dict(out_type='raw' if map_head else 'map')
    head = dict(type='MAPClsHead', num_heads=HEADS,
                feedforward_channels=ARCH['feedforward_channels']) if map_head else \
        dict(type='LinearClsHead')
    return build_classifier(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='ViTG', arch=ARCH, img_size=SIZE, patch_size=14, **backbone),
            head=dict(**head, num_classes=CLASSES, in_channels=DIM))).eval()


@pytest.mark.parametrize('global_pool,map_head', [('map', False), ('map', True),
                                                  ('avg', False)])
def test_converted_weights_reproduce_timm(global_pool, map_head):
    reference = timm_model(global_pool)
    state = convert_timm_vit(reference.state_dict(), map_head=map_head)
    model = our_model(global_pool, map_head)
    model.load_state_dict(state, strict=True)
    images = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        want_feats = reference.forward_head(
            reference.forward_features(images), pre_logits=True)
        want_logits = reference(images)
        feats = model.extract_feat(images)
        got_feats = model.head.pre_logits(feats)
        got_logits = model.head(feats)
    assert got_feats.shape == (2, DIM)
    torch.testing.assert_close(got_feats, want_feats, rtol=0, atol=1e-5)
    torch.testing.assert_close(got_logits, want_logits, rtol=0, atol=1e-5)


def test_pos_embed_layout_without_class_token():
    """timm: no class token -> pos_embed (1, h*w, C), also with no_embed_class."""
    for no_embed_class in (False, True):
        model = timm_vit.VisionTransformer(
            img_size=28,
            patch_size=14,
            embed_dim=DIM,
            depth=1,
            num_heads=HEADS,
            class_token=False,
            no_embed_class=no_embed_class,
            global_pool='map')
        assert model.pos_embed.shape == (1, 4, DIM)


def test_class_token_and_layer_scale_are_rejected():
    model = timm_vit.VisionTransformer(
        img_size=28,
        patch_size=14,
        embed_dim=DIM,
        depth=1,
        num_heads=HEADS,
        init_values=1e-5)
    with pytest.raises(KeyError, match=r'cls_token \(ViTG has no class token'):
        convert_timm_vit(model.state_dict())
    with pytest.raises(KeyError, match='layer scale'):
        convert_timm_vit(model.state_dict())


def test_command_line(tmp_path):
    src, dst = tmp_path / 'timm.pth', tmp_path / 'mm.pth'
    reference = timm_model('map')
    torch.save({'model': reference.state_dict()}, src)
    subprocess.run(
        [sys.executable, 'tools/model_converters/timm_vit2mm.py',
         str(src),
         str(dst)],
        check=True,
        capture_output=True)
    state = torch.load(dst, weights_only=True)['state_dict']
    model = our_model('map')
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True)
