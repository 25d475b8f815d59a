"""AIM autoregressive pretraining as an mmpretrain self-supervised algorithm."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import Tensor

from ...registry import MODELS


@MODELS.register_module()
class AIMPretrain(BaseSelfSupervisor):
    """Next-patch pixel regression with a prefix-causal trunk (arXiv 2401.08541).

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_. For a batch of ``(B, 3, H, W)`` images cut
    into ``N`` raster-order patches:

    1. each sample draws a prefix length ``P`` uniformly in ``prefix_range``
       (default ``[1, N - 1]``, the release's ``[1, 255]`` at 224 px / patch 14) from
       torch's RNG;
    2. the trunk (:class:`~visionllama_mm.models.AIM`, ``out_type='raw'``, last block,
       final norm) runs prefix-causally: the ``P`` prefix patches see each other, every
       later patch sees the prefix and the patches before it;
    3. the head (:class:`~visionllama_mm.models.AIMPixelHead`) maps every token to
       ``p²·3`` pixel values;
    4. the output at token ``i`` regresses patch ``i + 1`` (per-patch normalised
       pixels); only targets ``i + 1 >= P`` count (predictions from tokens
       ``P - 1 .. N - 2``), the prefix patches are never predicted.

    ``extract_feat`` runs the trunk bidirectionally (downstream mode).

    Args:
        backbone: AIM config. head: AIMPixelHead config.
        prefix_range: inclusive ``(low, high)`` of ``P``; None: ``(1, N - 1)``
            for the batch's ``N``.
        data_preprocessor: defaults to mmpretrain's ``SelfSupDataPreprocessor``.
        pretrained / init_cfg: as :class:`BaseSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 prefix_range: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if getattr(self.backbone, 'out_type', None) != 'raw' or \
                self.backbone.out_indices != [self.backbone.num_layers - 1]:
            raise ValueError("AIMPretrain needs the trunk's last block as tokens: "
                             "backbone out_type='raw', out_indices=-1")
        if self.head.patch_size != self.backbone.patch_size:
            raise ValueError(f'head.patch_size ({self.head.patch_size}) must equal '
                             f'backbone.patch_size ({self.backbone.patch_size})')
        if prefix_range is not None:
            prefix_range = tuple(int(v) for v in prefix_range)
            if len(prefix_range) != 2 or not 1 <= prefix_range[0] <= prefix_range[1]:
                raise ValueError('prefix_range must be (low, high) with 1 <= low <= '
                                 f'high, got {prefix_range}')
        self.prefix_range = prefix_range

    def sample_prefix_len(self, batch: int, num_patches: int,
                          device: torch.device) -> Tensor:
        """``(B,)`` prefix lengths, uniform in the inclusive range (torch RNG)."""
        low, high = self.prefix_range or (1, num_patches - 1)
        if num_patches < 2 or high > num_patches - 1:
            raise ValueError(f'prefix_range {(low, high)} leaves no patch to predict '
                             f'with {num_patches} patches (need high <= N - 1)')
        return torch.randint(low, high + 1, (batch, ), device=device)

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return self.backbone(inputs)

    def grid(self, inputs: Tensor) -> Tuple[int, int]:
        """Patch grid ``(H / p, W / p)``; pretraining inputs must be multiples of p."""
        patch = self.backbone.patch_size
        if inputs.shape[-2] % patch or inputs.shape[-1] % patch:
            raise ValueError(f'AIMPretrain inputs {tuple(inputs.shape[-2:])} must be '
                             f'multiples of patch_size={patch} (every patch is a target)')
        return inputs.shape[-2] // patch, inputs.shape[-1] // patch

    def loss(self,
             inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, Tensor]:
        if isinstance(inputs, (list, tuple)):  # SelfSupDataPreprocessor: one view
            inputs = inputs[0]
        grid_hw = self.grid(inputs)
        prefix_len = self.sample_prefix_len(inputs.shape[0], grid_hw[0] * grid_hw[1],
                                            inputs.device)
        tokens = self.backbone(inputs, prefix_len=prefix_len)[0]
        pred = self.head(tokens, grid_hw)
        return dict(loss=self.head.loss(pred, inputs, prefix_len))
