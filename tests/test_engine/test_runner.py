"""``ReliableRunner`` switches the reliability hooks on from a config, and an mmseg
config with mmseg's layer-decay constructor gets the one-line fix for our backbones."""
import pytest
from mmengine.config import Config
from torch import nn

from visionllama_mm.engine import (IncompatibleConfigError, add_reliability_hooks,
                                   check_optimizer_constructor)

TINY = dict(
    type='VisionLLaMA',
    arch=dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64),
    img_size=32,
    patch_size=8,
    out_type='featmap',
    out_indices=[1, 3],
    final_norm=False)


def test_reliability_hooks_are_added_once():
    cfg = Config(
        dict(
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2)),
            custom_hooks=[dict(type='FiniteLossHook')]))
    changed = add_reliability_hooks(cfg)
    assert cfg.default_hooks.checkpoint == dict(type='AtomicCheckpointHook', interval=2)
    assert [h['type'] for h in cfg.custom_hooks] == [
        'FiniteLossHook', 'RandomStateHook', 'InputChannelsHook', 'DataCheckHook',
        'ModelCheckHook'
    ]
    assert len(changed) == 5 and add_reliability_hooks(cfg) == []


class Segmentor(nn.Module):
    """What mmseg's constructor looks at: a model with a ``backbone``."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone


def build_optimizer(optim_wrapper: dict, model: nn.Module):
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
    optim = dict(optim_wrapper, type='OptimWrapper')
    return OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type=optim.pop('constructor'),
            paramwise_cfg=optim.pop('paramwise_cfg'),
            optim_wrapper_cfg=optim))(
                model)


def mmseg_mae_config(**optim_wrapper):
    """mmseg's own MAE UperNet config with our plain backbone swapped in."""
    from visionllama_mm.utils import load_config
    cfg = load_config('mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py')
    cfg.merge_from_dict(
        dict(
            model=dict(backbone=dict(_delete_=True, **TINY)),
            optim_wrapper=optim_wrapper))
    return cfg


def test_mmseg_layer_decay_constructor_is_refused_with_the_fix():
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import visionllama_mm  # noqa: F401
    register_all_modules(init_default_scope=True)
    cfg = mmseg_mae_config()
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimizerConstructor'
    with pytest.raises(
            IncompatibleConfigError,
            match="constructor='LayerDecayOptimWrapperConstructor'"):
        check_optimizer_constructor(cfg)

    model = Segmentor(MODELS.build(cfg.model.backbone))
    with pytest.raises(NotImplementedError):  # what mmseg's constructor itself does
        build_optimizer(cfg.optim_wrapper, model)

    # the one-line fix from the message trains with layer decay over our 4 blocks
    cfg = mmseg_mae_config(
        constructor='LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(flat_decay_mult=0.0))
    check_optimizer_constructor(cfg)
    wrapper = build_optimizer(cfg.optim_wrapper, model)
    scales = sorted({g['lr_scale'] for g in wrapper.optimizer.param_groups})
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    # depths 0 (patch embedding) .. 4 (last block) of 6 (no final norm, no head)
    assert scales == pytest.approx([rate**k for k in (5, 4, 3, 2, 1)])
    no_decay = [g for g in wrapper.optimizer.param_groups if g['weight_decay'] == 0]
    assert sum(p.numel() for g in no_decay for p in g['params']) > 0
