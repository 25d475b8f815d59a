"""BCE on binarized Mixup / CutMix targets (DeiT III, the VisionLLaMA release)."""
from typing import Optional

from mmpretrain.models.losses import CrossEntropyLoss
from torch import Tensor

from ...registry import MODELS


@MODELS.register_module()
class BinarizedTargetBCELoss(CrossEntropyLoss):
    """Sigmoid BCE whose soft targets are binarized first: ``target > 0 -> 1``.

    DeiT III (and the VisionLLaMA release, ``deit/engine_b.py`` with ``--bce-loss``)
    mixes the labels with Mixup / CutMix and then trains every class that takes part
    in the mix as a positive (``targets.gt(0.0)``), instead of using the mixing
    weights as BCE targets. mmpretrain's ``CrossEntropyLoss(use_sigmoid=True)`` uses
    the soft weights; this loss binarizes them and otherwise is that loss
    (``loss_weight``, ``class_weight``, ``pos_weight``). Hard labels (``(N,)``
    indices, no batch augment) become one-hot targets, as there.

    The mean runs over all ``N x C`` terms, as the release's
    ``torch.nn.BCEWithLogitsLoss()``: mmpretrain's ``ClsHead`` passes
    ``avg_factor=N``, which would make the loss (and its gradients) ``C`` times the
    release's, so ``avg_factor`` is ignored.

    Args:
        threshold: a class is positive when its target is above this (release: 0).
        **kwargs: ``reduction``, ``loss_weight``, ``class_weight``, ``pos_weight`` of
            mmpretrain's ``CrossEntropyLoss``.
    """

    def __init__(self, threshold: float = 0., **kwargs) -> None:
        if 'use_sigmoid' in kwargs or 'use_soft' in kwargs:
            raise ValueError('BinarizedTargetBCELoss is always sigmoid BCE: do not '
                             'pass use_sigmoid / use_soft')
        if not 0. <= threshold < 1.:
            raise ValueError(f'threshold must be in [0, 1), got {threshold}')
        super().__init__(use_sigmoid=True, **kwargs)
        self.threshold = threshold

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[int] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """``cls_score`` ``(N, C)`` logits; ``label`` ``(N, C)`` mixed scores or
        ``(N,)`` class indices."""
        if label.dim() == 1:
            label = cls_score.new_zeros(cls_score.shape).scatter_(
                1,
                label.long().view(-1, 1), 1.)
        if label.shape != cls_score.shape:
            raise ValueError(f'label must be (N,) or the shape of cls_score '
                             f'{tuple(cls_score.shape)}, got {tuple(label.shape)}')
        label = label.gt(self.threshold).to(cls_score.dtype)
        # avg_factor deliberately dropped: mean over N x C (see the class docstring)
        return super().forward(
            cls_score,
            label,
            weight=weight,
            avg_factor=None,
            reduction_override=reduction_override,
            **kwargs)
