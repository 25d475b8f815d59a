"""BinarizedTargetBCELoss: BCE on binarized Mixup / CutMix targets, as the release's
``deit/engine_b.py`` (``targets.gt(0.0)`` then ``torch.nn.BCEWithLogitsLoss()``)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import visionllama_mm  # noqa: F401
from visionllama_mm.models.losses import BinarizedTargetBCELoss


def _mixed_targets() -> torch.Tensor:
    """Mixup with lam 0.7 of classes (1, 2, 3, 4) and (5, 6, 7, 8) over 10 classes."""
    target = torch.zeros(4, 10)
    rows = torch.arange(4)
    target[rows, torch.tensor([1, 2, 3, 4])] = 0.7
    target[rows, torch.tensor([5, 6, 7, 8])] = 0.3
    return target


def test_mixed_targets_are_binarized_and_averaged_over_every_term():
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    target = _mixed_targets()
    loss = BinarizedTargetBCELoss()(logits, target, avg_factor=4)  # ClsHead passes N
    release = F.binary_cross_entropy_with_logits(logits, target.gt(0.).float())
    assert loss == pytest.approx(release.item(), rel=1e-6)


def test_differs_from_bce_on_the_soft_targets():
    logits = torch.full((4, 10), -2.)  # BCE(x, t) = softplus(-2) + 2 t
    target = _mixed_targets()
    binarized = BinarizedTargetBCELoss()(logits, target)
    soft = F.binary_cross_entropy_with_logits(logits, target)
    # 2 * (4 * (1 - 0.7) + 4 * (1 - 0.3)) / 40 = 0.2
    assert (binarized - soft).item() == pytest.approx(0.2, rel=1e-5)


def test_class_indices_become_one_hot():
    logits = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 4, 2])
    loss = BinarizedTargetBCELoss(loss_weight=2.)(logits, labels)
    one_hot = F.one_hot(labels, 5).float()
    expected = 2 * F.binary_cross_entropy_with_logits(logits, one_hot)
    assert loss == pytest.approx(expected.item(), rel=1e-6)


def test_through_mmpretrain_linear_head():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = MODELS.build(
            dict(
                type='LinearClsHead',
                num_classes=10,
                in_channels=8,
                loss=dict(type='BinarizedTargetBCELoss')))
    feats = torch.randn(4, 8, generator=torch.Generator().manual_seed(2))
    target = _mixed_targets()
    samples = [DataSample().set_gt_score(t) for t in target]
    loss = head.loss((feats, ), samples)['loss']
    release = F.binary_cross_entropy_with_logits(head.fc(feats), target.gt(0.).float())
    assert loss.item() == pytest.approx(release.item(), rel=1e-6)


@pytest.mark.parametrize('kwargs, match', [
    (dict(use_sigmoid=True), 'use_sigmoid'),
    (dict(use_soft=True), 'use_sigmoid'),
    (dict(threshold=1.), 'threshold'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BinarizedTargetBCELoss(**kwargs)


def test_bad_label_shape():
    with pytest.raises(ValueError, match='label must be'):
        BinarizedTargetBCELoss()(torch.zeros(2, 5), torch.zeros(2, 4))
