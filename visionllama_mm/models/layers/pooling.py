"""Attention pooling of a token sequence into one descriptor, written once.

* :class:`AttentionPooling`: the probe of AIM (arXiv 2401.08541, apple/ml-aim
  ``AttentionPoolingClassifier`` without its linear layer): optional
  ``BatchNorm1d(affine=False)`` on the tokens, learned queries used *as is* (no q
  projection), bias-free ``k`` / ``v`` projections, no output projection, the queries'
  outputs averaged.
* :class:`MultiheadAttentionPooling`: the MAP head of "Scaling Vision Transformers"
  (arXiv 2106.04560; big_vision ``MAPHead``, timm ``AttentionPoolLatent``): a learned
  probe attends over the tokens through q / kv / output projections with biases, then
  ``x + MLP(LN(x))``, then the first query. Parameter names equal timm's
  (``latent``, ``q``, ``kv``, ``proj``, ``norm``, ``mlp.fc1``, ``mlp.fc2``), so timm
  weights load one-to-one.

Both attend through :func:`~.attention.attend` (``F.scaled_dot_product_attention``)
without rotary tables. Shapes: tokens ``(B, N, C)`` -> ``(B, C)``.
"""
from typing import Optional

import torch
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import build_norm_layer
from torch import Tensor, nn

from ...errors import ModelArgumentError
from .attention import attend, check_heads
from .ffn import GELUMLP


def _check_tokens(x: Tensor, embed_dims: int, name: str) -> None:
    if x.ndim != 3 or x.shape[-1] != embed_dims:
        raise ValueError(f'{name} expects tokens (B, N, {embed_dims}), got '
                         f'{tuple(x.shape)}')


def _check_sizes(embed_dims: int, num_heads: int, num_queries: int) -> None:
    check_heads(embed_dims, num_heads)
    if not isinstance(num_queries, int) or num_queries < 1:
        raise ModelArgumentError(f'num_queries must be >= 1, got {num_queries!r}')


def _split_heads(x: Tensor, num_heads: int) -> Tensor:
    """``(B, N, C) -> (B, heads, N, C // heads)``."""
    batch, length, channels = x.shape
    return x.reshape(batch, length, num_heads, channels // num_heads).transpose(1, 2)


class AttentionPooling(nn.Module):
    """AIM's attentive probe: learned queries attend over (batch-normed) tokens.

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_. ``q = cls_token`` (split into heads, no
    projection), ``k = W_k x``, ``v = W_v x`` (bias-free by default), softmax attention
    per head, heads concatenated, queries averaged. Names follow apple/ml-aim
    (``cls_token``, ``k``, ``v``, ``bn``).

    Args:
        embed_dims: token width ``C``.
        num_heads: attention heads (AIM: the trunk's heads).
        num_queries: learned queries; their outputs are averaged.
        use_batch_norm: ``BatchNorm1d(C, affine=False, eps=1e-6)`` on the tokens first.
        qkv_bias: biases of ``k`` and ``v`` (AIM: False).

    Shapes: ``(B, N, C) -> (B, C)``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_queries: int = 1,
                 use_batch_norm: bool = True,
                 qkv_bias: bool = False) -> None:
        super().__init__()
        _check_sizes(embed_dims, num_heads, num_queries)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.bn = nn.BatchNorm1d(embed_dims, affine=False, eps=1e-6) \
            if use_batch_norm else nn.Identity()
        self.cls_token = nn.Parameter(torch.zeros(1, num_queries, embed_dims))
        self.k = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.v = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.normal_(self.cls_token, std=.02)
        for linear in (self.k, self.v):
            trunc_normal_(linear.weight, std=.02)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_tokens(x, self.embed_dims, type(self).__name__)
        x = self.bn(x.transpose(1, 2)).transpose(1, 2)
        q = self.cls_token.expand(x.shape[0], -1, -1)
        out = attend(
            _split_heads(q, self.num_heads), _split_heads(self.k(x), self.num_heads),
            _split_heads(self.v(x), self.num_heads))
        return out.mean(dim=1)


class MultiheadAttentionPooling(nn.Module):
    """The MAP head of ViT-G/14: one learned probe, multi-head attention, MLP.

    `Scaling Vision Transformers <https://arxiv.org/abs/2106.04560>`_ (``pool_type=
    'map'``). ``y = proj(MHA(q(latent), kv(x)))``, ``y = y + MLP(LN(y))``, output the
    first query. Same parameters and maths as timm's ``AttentionPoolLatent`` with
    ``mlp_ratio = feedforward_channels / C``.

    Args:
        embed_dims: token width ``C``.
        num_heads: attention heads.
        feedforward_channels: MLP hidden width (defaults to ``4 * C``; timm's ViT uses
            the trunk's MLP width).
        num_queries: learned queries (``latent_len``); the first one's output is
            returned.
        qkv_bias: biases of ``q`` and ``kv``.
        norm_cfg: the norm before the MLP (None: ``dict(type='LN', eps=1e-6)``).

    Shapes: ``(B, N, C) -> (B, C)``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: Optional[int] = None,
                 num_queries: int = 1,
                 qkv_bias: bool = True,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        _check_sizes(embed_dims, num_heads, num_queries)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.latent = nn.Parameter(torch.zeros(1, num_queries, embed_dims))
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, 2 * embed_dims, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.norm = build_norm_layer(norm_cfg or dict(type='LN', eps=1e-6), embed_dims)
        self.mlp = GELUMLP(embed_dims, feedforward_channels or 4 * embed_dims)
        self.init_weights()

    def init_weights(self) -> None:
        trunc_normal_(self.latent, std=self.embed_dims**-0.5)
        for linear in (self.q, self.kv, self.proj, self.mlp.fc1, self.mlp.fc2):
            trunc_normal_(linear.weight, std=.02)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_tokens(x, self.embed_dims, type(self).__name__)
        q = self.q(self.latent.expand(x.shape[0], -1, -1))
        k, v = self.kv(x).chunk(2, dim=-1)
        y = self.proj(
            attend(
                _split_heads(q, self.num_heads), _split_heads(k, self.num_heads),
                _split_heads(v, self.num_heads)))
        y = y + self.mlp(self.norm(y))
        return y[:, 0]
