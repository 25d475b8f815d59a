"""ViTDet's simple feature pyramid (arXiv 2203.16527).

mmdet 3.3.0 ships ``SimpleFPN`` and ``LN2d`` only under ``projects/ViTDet``, which its
wheel does not install. The neck is written here under a name of its own,
``SimpleFeaturePyramid`` (detectron2's), so a config may import mmdet's
``projects.ViTDet.vitdet`` and this package together in either order; for the channel
LayerNorm configs name mmpretrain's, ``norm_cfg=dict(type='mmpretrain.LN2d')``, which
every scope resolves without a second registration.
"""
from typing import List, Sequence, Tuple

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.models.utils.norm import LayerNorm2d as LN2d
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Build a 4-level pyramid from one stride-16 map of a plain backbone.

    Scales 4x (two stride-2 deconvs with LN2d + GELU between), 2x (one deconv), 1x and
    0.5x (max-pool) of the last ``in_channels`` map, each followed by a 1x1 and a 3x3
    ``ConvModule`` with ``norm_cfg`` (LN2d in ViTDet).

    Args:
        backbone_channel: channels of the backbone map.
        in_channels: channels after each scale branch, e.g. ``[192, 384, 768, 768]``.
        out_channels: FPN width. num_outs: levels returned (extra levels max-pooled).
        norm_cfg: norm of the convs, e.g.
            ``dict(type='mmpretrain.LN2d', requires_grad=True)``.

    Input: a tuple whose last item is ``(B, C, H, W)``; output: ``num_outs`` maps.
    """

    def __init__(self,
                 backbone_channel: int,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f'in_channels needs 4 entries, got {in_channels!r}')
        if num_outs < 4:
            raise ValueError(f'num_outs must be >= 4, got {num_outs}')
        self.backbone_channel = c = backbone_channel
        self.fpn1 = nn.Sequential(
            nn.ConvTranspose2d(c, c // 2, 2, 2), LN2d(c // 2, eps=1e-6), nn.GELU(),
            nn.ConvTranspose2d(c // 2, c // 4, 2, 2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(c, c // 2, 2, 2))
        self.fpn3 = nn.Sequential(nn.Identity())
        self.fpn4 = nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))
        self.num_outs = num_outs
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for channels in in_channels:
            self.lateral_convs.append(
                ConvModule(
                    channels,
                    out_channels,
                    1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    inplace=False))
            self.fpn_convs.append(
                ConvModule(
                    out_channels,
                    out_channels,
                    3,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    inplace=False))

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        x = inputs[-1]
        feats: List[Tensor] = [self.fpn1(x), self.fpn2(x), self.fpn3(x), self.fpn4(x)]
        outs = [
            fpn(lat(f)) for f, lat, fpn in zip(feats, self.lateral_convs, self.fpn_convs)
        ]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
