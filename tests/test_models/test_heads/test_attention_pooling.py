"""Attention pooling layers (AIM probe, ViT-G MAP) and their mmpretrain heads."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import visionllama_mm  # noqa: F401
from visionllama_mm.models.layers import AttentionPooling, MultiheadAttentionPooling

C, HEADS, N, B = 16, 4, 7, 3


def _heads(x):
    return x.reshape(x.shape[0], x.shape[1], HEADS, -1).transpose(1, 2)


def _attend(q, k, v):
    weights = (_heads(q) @ _heads(k).transpose(-1, -2) / (C // HEADS)**0.5).softmax(-1)
    out = weights @ _heads(v)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[1], C)


def test_aim_attention_pooling_matches_written_out_maths():
    torch.manual_seed(0)
    pool = AttentionPooling(C, HEADS, num_queries=2).train()
    x = torch.randn(B, N, C) * 3 + 1
    mean = x.mean(dim=(0, 1))
    var = x.var(dim=(0, 1), unbiased=False)
    normed = (x - mean) / torch.sqrt(var + 1e-6)  # BatchNorm1d(affine=False) batch stats
    query = pool.cls_token.expand(B, -1, -1)
    want = _attend(query, normed @ pool.k.weight.T, normed @ pool.v.weight.T).mean(1)
    torch.testing.assert_close(pool(x), want, rtol=1e-5, atol=1e-5)
    assert pool.k.bias is None and pool.v.bias is None
    assert not any(
        isinstance(m, torch.nn.BatchNorm1d) and m.affine for m in pool.modules())
    assert {n
            for n, _ in pool.named_parameters()} == {'cls_token', 'k.weight', 'v.weight'}


def test_map_pooling_matches_written_out_maths():
    torch.manual_seed(0)
    pool = MultiheadAttentionPooling(C, HEADS, feedforward_channels=24)
    for p in pool.parameters():  # non-trivial biases and norm
        p.data.add_(0.1 * torch.randn_like(p))
    x = torch.randn(B, N, C)
    q = pool.q(pool.latent.expand(B, -1, -1))
    k, v = (x @ pool.kv.weight.T + pool.kv.bias).split(C, dim=-1)
    y = pool.proj(_attend(q, k, v))
    hidden = F.gelu(
        F.layer_norm(y, (
            C, ), pool.norm.weight, pool.norm.bias, 1e-6) @ pool.mlp.fc1.weight.T +
        pool.mlp.fc1.bias)
    y = y + hidden @ pool.mlp.fc2.weight.T + pool.mlp.fc2.bias
    torch.testing.assert_close(pool(x), y[:, 0], rtol=1e-5, atol=1e-5)
    assert pool.mlp.fc1.out_features == 24


@pytest.mark.parametrize(
    'head_cfg', [
        dict(type='AttentionPoolingClassifier', num_heads=HEADS),
        dict(type='AttentionPoolingClassifier', num_heads=HEADS, use_batch_norm=False),
        dict(type='MAPClsHead', num_heads=HEADS),
    ],
    ids=['aim', 'aim-no-bn', 'map'])
@pytest.mark.parametrize('layout', ['tokens', 'nchw'])
def test_heads_shapes_loss_and_gradients(head_cfg, layout):
    torch.manual_seed(0)
    head = MODELS.build(dict(**head_cfg, num_classes=5, in_channels=C)).train()
    x = torch.randn(B, N, C) if layout == 'tokens' else torch.randn(B, C, 2, 3)
    feats = (torch.randn(B, C), x)  # only the last item is used
    assert head.pre_logits(feats).shape == (B, C)
    assert head(feats).shape == (B, 5)
    samples = [DataSample().set_gt_label(i % 5) for i in range(B)]
    losses = head.loss(feats, samples)
    losses['loss'].backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    head.eval()
    predictions = head.predict(feats)
    assert len(predictions) == B and predictions[0].pred_score.shape == (5, )


def test_head_errors_name_the_problem():
    head = MODELS.build(
        dict(type='MAPClsHead', num_classes=5, in_channels=C, num_heads=HEADS))
    with pytest.raises(ValueError, match='in_channels=16 but the backbone gives 8'):
        head((torch.randn(B, N, 8), ))
    with pytest.raises(ValueError, match=r"out_type='raw'"):
        head((torch.randn(B, C), ))
    with pytest.raises(ValueError, match='num_classes must be >= 1'):
        MODELS.build(
            dict(
                type='AttentionPoolingClassifier',
                num_classes=0,
                in_channels=C,
                num_heads=HEADS))
    with pytest.raises(ValueError, match='divisible by num_heads'):
        AttentionPooling(C, 3)
    with pytest.raises(ValueError, match='num_queries'):
        MultiheadAttentionPooling(C, HEADS, num_queries=0)
