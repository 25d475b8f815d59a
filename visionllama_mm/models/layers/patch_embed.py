"""The patch embedding of every backbone of the package."""
from typing import Optional, Sequence, Union

from mmcv.cnn.bricks.transformer import PatchEmbed
from mmpretrain.models.utils import build_norm_layer


def build_patch_embed(in_channels: int,
                      embed_dims: int,
                      patch_size: int,
                      norm_cfg: Optional[dict] = None,
                      input_size: Union[None, int, Sequence[int]] = None) -> PatchEmbed:
    """mmcv's ``PatchEmbed``: a ``patch_size`` convolution with stride ``patch_size``
    (inputs that are no multiple are zero-padded bottom / right,
    ``padding='corner'``), then the norm ``norm_cfg`` (None: none).

    The norm is built as every other norm of the package (mmpretrain's
    ``build_norm_layer``), so ``norm_cfg`` may name any norm of the package's scopes,
    e.g. ``RMSNorm``, whatever the default scope. Keys: ``projection``, ``norm``.
    Shapes: ``(B, C, H, W) -> ((B, h*w, embed_dims), (h, w))``.
    """
    embed = PatchEmbed(
        in_channels=in_channels,
        embed_dims=embed_dims,
        conv_type='Conv2d',
        kernel_size=patch_size,
        stride=patch_size,
        padding='corner',
        norm_cfg=None,
        input_size=input_size)
    if norm_cfg is not None:
        embed.norm = build_norm_layer(norm_cfg, embed_dims)
    return embed
