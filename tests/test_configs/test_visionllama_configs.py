"""The full-size ImageNet configs parse, build and run one step on a tiny batch."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

import visionllama_mm  # noqa: F401

CONFIGS = sorted(Path('configs/visionllama').glob('*.py'))


def test_configs_found():
    assert len(CONFIGS) == 5


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_trains_one_step(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))  # as Runner
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for transform in cfg.train_dataloader.dataset.pipeline:
            TRANSFORMS.build(transform)
        model = MODELS.build(cfg.model)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    size = cfg.model.backbone.img_size
    assert model.backbone.patch_resolution == (size // 16, size // 16)
    # any input size works with RoPE; the data preprocessor applies Mixup/CutMix
    batch = dict(
        inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
        data_samples=[DataSample().set_gt_label(i) for i in (3, 7)])
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    optim.update_params(sum(losses.values()))
    assert torch.isfinite(sum(losses.values()))
