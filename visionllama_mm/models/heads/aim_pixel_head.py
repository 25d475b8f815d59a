"""AIM's pixel-prediction head and its next-patch loss (arXiv 2401.08541)."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.models.utils import build_norm_layer
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from torch import Tensor, nn

from ...registry import MODELS
from ..layers import GELUMLP, SinCosPosEmbed2D


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """``(B, C, H, W)`` -> raster-order patches ``(B, N, p * p * C)`` (MAE layout:
    channel fastest, then the column and the row inside the patch)."""
    batch, channels, height, width = images.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {(height, width)} is not a multiple of '
                         f'patch_size={patch_size}: crop or resize the pretraining '
                         'inputs to a multiple')
    h, w = height // patch_size, width // patch_size
    x = images.reshape(batch, channels, h, patch_size, w, patch_size)
    return torch.einsum('nchpwq->nhwpqc', x).reshape(batch, h * w, -1)


def normalized_patch_targets(images: Tensor,
                             patch_size: int,
                             eps: float = 1e-6) -> Tensor:
    """AIM's regression targets: patchify, then standardise every patch on its own.

    ``(x - mean) / sqrt(var + eps)`` over the ``p * p * C`` values of each patch, with
    the **unbiased** variance (``torch.var`` default), as the release's
    ``RasterPixelLoss`` (apple/ml-l3m) and mmpretrain's MAE ``norm_pix``. Returns
    ``(B, N, p * p * C)`` in float32.
    """
    target = patchify(images.float(), patch_size)
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)
    return (target - mean) / (var + eps)**.5


def next_patch_loss_mask(prefix_len: Tensor, num_patches: int) -> Tensor:
    """Weights of the ``N - 1`` next-patch predictions: ``(B, N - 1)`` float.

    Prediction ``i`` (the head's output at token ``i``) regresses patch ``i + 1``; it
    counts iff its target is not a prefix patch, ``i + 1 >= P``, i.e. ``i >= P - 1``.
    The last token has no target.
    """
    targets = torch.arange(1, num_patches, device=prefix_len.device)
    return (targets[None, :] >= prefix_len[:, None]).float()


class _ResidualMLP(nn.Module):
    """``x + fc2(GELU(fc1(LN(x))))`` without biases (the package's :class:`GELUMLP`)."""

    def __init__(self, dims: int, hidden: int, norm_cfg: dict) -> None:
        super().__init__()
        self.ln = build_norm_layer(norm_cfg, dims)
        self.mlp = GELUMLP(dims, hidden, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mlp(self.ln(x))


@MODELS.register_module()
class AIMPixelHead(BaseModule):
    """AIM pretraining head: per-token residual MLPs predicting the next patch's pixels.

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_. Each token goes through, independently (no
    attention): a linear projection from the trunk width to ``embed_dims`` (with bias,
    identity when the widths agree), the fixed 2D sin-cos position embedding of the
    grid (the paper adds it "before the MLP head"; the release's ``SimpleDecoder``),
    ``num_blocks`` blocks ``x + fc2(GELU(fc1(LN(x))))`` (ratio ``mlp_ratio``, no
    bias), a final LayerNorm and a linear layer (with bias) to ``patch_size² · C``.

    The release's ``SimpleDecoder`` builds each head block as a transformer block
    whose attention is an identity, i.e. it also adds ``LN(x)`` to ``x`` before the
    MLP; this head keeps the MLP blocks of the paper's description only.

    Args:
        in_channels: trunk width.
        embed_dims: head width (release: 2048).
        num_blocks: residual MLP blocks (12). mlp_ratio: hidden / width (4).
        patch_size: pixels per patch side. out_channels: image channels (3).
        with_pos_embed: add the sin-cos table after the projection.
        norm_cfg: every norm of the head (``dict(type='LN', eps=1e-6)``).
        target_eps: target normalisation epsilon.
        loss: mmpretrain loss config, called as ``loss(pred, target, weights)``
            (``PixelReconstructionLoss``: masked mean of per-patch MSE).

    Shapes: ``forward(x, grid_hw)``: ``(B, N, in_channels)`` -> ``(B, N, p²·C)``;
    ``loss(pred, images, prefix_len)`` -> scalar.
    """

    def __init__(self,
                 in_channels: int = 1536,
                 embed_dims: int = 2048,
                 num_blocks: int = 12,
                 mlp_ratio: float = 4.,
                 patch_size: int = 14,
                 out_channels: int = 3,
                 with_pos_embed: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 target_eps: float = 1e-6,
                 loss: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        if num_blocks < 0:
            raise ValueError(f'num_blocks must be >= 0, got {num_blocks}')
        self.patch_size = patch_size
        self.out_channels = out_channels
        self.target_eps = target_eps
        self.proj = nn.Linear(in_channels, embed_dims) \
            if in_channels != embed_dims else nn.Identity()
        self.pos_embed = SinCosPosEmbed2D(embed_dims) if with_pos_embed else None
        self.blocks = nn.Sequential(*[
            _ResidualMLP(embed_dims, int(embed_dims * mlp_ratio), norm_cfg)
            for _ in range(num_blocks)
        ])
        self.norm = build_norm_layer(norm_cfg, embed_dims)
        self.pred = nn.Linear(embed_dims, patch_size**2 * out_channels)
        self.loss_module = PRETRAIN_MODELS.build(
            loss or dict(type='PixelReconstructionLoss', criterion='L2'))

    def init_weights(self) -> None:
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor, grid_hw: Tuple[int, int]) -> Tensor:
        x = self.proj(x)
        if self.pos_embed is not None:
            x = x + self.pos_embed(grid_hw, x.device, x.dtype)
        return self.pred(self.norm(self.blocks(x)))

    def target(self, images: Tensor) -> Tensor:
        """Per-patch normalised pixels ``(B, N, p²·C)``, see
        :func:`normalized_patch_targets`."""
        return normalized_patch_targets(images, self.patch_size, self.target_eps)

    def loss(self, pred: Tensor, images: Tensor, prefix_len: Tensor) -> Tensor:
        """Next-patch MSE on non-prefix targets.

        ``pred[:, i]`` is compared with ``target[:, i + 1]`` for ``i = 0 .. N - 2`` and
        weighted by ``i + 1 >= prefix_len`` (:func:`next_patch_loss_mask`); the mean
        runs over the patch values and the counted predictions of the whole batch.
        """
        target = self.target(images)
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} does not match the targets '
                             f'{tuple(target.shape)} of these images')
        weights = next_patch_loss_mask(prefix_len, target.shape[1])
        return self.loss_module(pred[:, :-1].float(), target[:, 1:], weights)
