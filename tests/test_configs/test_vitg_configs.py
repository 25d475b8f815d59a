"""The ViT-G/14 configs and the ViTG demo config.

Every full-size config parses, states its recipe, and is built through its own scope
with a tiny ViTG in place of ViT-G (the real ViT-G is built on the meta device for its
size); the classifiers run ``loss`` + backward + one optimizer step, the UperNet and
ViTDet configs run one ``train_step`` on a 64 px input through the real mmseg / mmdet
models. The demo config runs a few iterations through mmengine's Runner.
"""
import importlib
from pathlib import Path

import pytest
import torch
from mm_samples import det_samples, seg_samples
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.optimizers import FactoredAdamW
from visionllama_mm.utils import convert_syncbn_for_cpu

CONFIG_DIR = Path('configs/vitg')
FT = CONFIG_DIR / 'vit-g-p14_ft_8xb64-amp_in1k-224.py'
LINEAR = CONFIG_DIR / 'vit-g-p14_linear-probe_8xb128-90e_in1k.py'
FEWSHOT = CONFIG_DIR / 'vit-g-p14_10shot-linear-probe_in1k.py'
ATTENTIVE = CONFIG_DIR / 'vit-g-p14_attentive-probe_in1k.py'
UPERNET = CONFIG_DIR / 'upernet_vit-g-p14_ade20k-512x512.py'
VITDET = CONFIG_DIR / 'vitdet_mask-rcnn_vit-g-p14_simplefpn_coco.py'
DEMO = Path('configs/demo/vit-tiny-p8_map_demo-shapes.py')
CHECKPOINT = 'checkpoints/vit-g-p14_timm2mm.pth'
TINY = dict(embed_dims=32, num_layers=4, num_heads=4, feedforward_channels=64)


def test_all_configs_covered():
    assert sorted(CONFIG_DIR.glob('*.py')) == sorted([
        FT, LINEAR, FEWSHOT, ATTENTIVE, UPERNET, VITDET,
        CONFIG_DIR / 'vit-g-p14_fsdp_8xb32-bf16_in1k.py'
    ])  # test_fsdp_configs.py


def _load(path: Path, scope: str) -> Config:
    cfg = Config.fromfile(path)
    assert cfg.default_scope == scope
    assert cfg.custom_imports.imports == ['visionllama_mm']
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.patch_size, backbone.img_size) == \
        ('ViTG', 'G', 14, 224)
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=CHECKPOINT, prefix='backbone.')
    return cfg


def _full_size_params(backbone_cfg) -> int:
    cfg = dict(backbone_cfg, init_cfg=None)
    with torch.device('meta'):
        backbone = importlib.import_module('mmpretrain.registry').MODELS.build(cfg)
    return sum(p.numel() for p in backbone.parameters())


def _tiny(cfg: Config, **overrides) -> None:
    cfg.model.backbone.update(
        arch=TINY, img_size=28, init_cfg=None, with_cp=False, **overrides)


def _build(cfg: Config, scope: str):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    convert_syncbn_for_cpu(cfg)
    optim_cfg = dict(cfg.optim_wrapper)
    assert optim_cfg['type'] == 'AmpOptimWrapper' and optim_cfg['dtype'] == 'bfloat16'
    optim_cfg.update(type='OptimWrapper')  # AmpOptimWrapper refuses the CPU
    optim_cfg.pop('dtype')
    optim_cfg.pop('loss_scale', None)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, optim_cfg)
    return model, optim


def _cls_samples(num):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(i % 1000) for i in range(num)]


def _cls_step(model, optim, size=28):
    model.train()
    losses = model.loss(torch.randn(2, 3, size, size), _cls_samples(2))
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    trainable = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if p.requires_grad
    }
    optim.update_params(loss)
    changed = {
        n
        for n, p in model.named_parameters()
        if n in trainable and not torch.equal(p, trainable[n])
    }
    return set(trainable), changed


def test_finetuning_config():
    cfg = _load(FT, 'mmpretrain')
    backbone = cfg.model.backbone
    assert (backbone.out_type, backbone.with_cp) == ('map', True)
    assert cfg.model.head.type == 'LinearClsHead' and cfg.model.head.in_channels == 1664
    optim = cfg.optim_wrapper
    assert optim.constructor == 'DecoupledWeightDecayOptimWrapperConstructor'
    assert optim.optimizer.type == 'FactoredAdamW'
    assert (optim.paramwise_cfg.head_weight_decay,
            optim.paramwise_cfg.body_weight_decay) == (3.0, 0.03)
    assert [s.type for s in cfg.param_scheduler] == ['RsqrtLR']
    assert cfg.train_dataloader.batch_size == 64
    assert _full_size_params(backbone) == pytest.approx(1881.1e6, rel=1e-3)  # + MAP

    _tiny(cfg)
    cfg.model.head.in_channels = 32
    model, optim = _build(cfg, 'mmpretrain')
    assert isinstance(optim.optimizer, FactoredAdamW)
    groups = {g['param_name']: g for g in optim.optimizer.param_groups}
    assert groups['head.fc.weight']['weight_decay'] == 3.0
    assert groups['backbone.layers.0.ffn.fc1.weight']['weight_decay'] == 0.03
    for name in ('backbone.pos_embed', 'backbone.attn_pool.latent', 'head.fc.bias'):
        assert groups[name]['weight_decay'] == 0.0
    trainable, changed = _cls_step(model, optim)
    assert trainable == {n for n, _ in model.named_parameters()}
    assert 'backbone.layers.0.attn.qkv.weight' in changed


@pytest.mark.parametrize('path', [LINEAR, FEWSHOT], ids=['linear', '10shot'])
def test_linear_probe_configs(path):
    cfg = _load(path, 'mmpretrain')
    assert cfg.model.backbone.frozen_stages == 48
    assert cfg.model.backbone.out_type == 'map'
    assert cfg.model.neck == dict(type='ClsBatchNormNeck', input_features=1664)
    if path == FEWSHOT:
        assert cfg.train_dataloader.dataset.ann_file == 'meta/train_10shot.txt'
        assert cfg.train_dataloader.dataset.split == 'train'
    _tiny(cfg, frozen_stages=TINY['num_layers'])
    cfg.model.neck.input_features = cfg.model.head.in_channels = 32
    model, optim = _build(cfg, 'mmpretrain')
    trainable, changed = _cls_step(model, optim)
    assert trainable == {'head.fc.weight', 'head.fc.bias'} == changed
    assert not model.backbone.attn_pool.training  # frozen MAP stays in eval mode


def test_attentive_probe_config():
    cfg = _load(ATTENTIVE, 'mmpretrain')
    assert (cfg.model.backbone.out_type, cfg.model.backbone.frozen_stages) == ('raw', 48)
    head = cfg.model.head
    assert (head.type, head.in_channels, head.num_heads) == ('MAPClsHead', 1664, 16)
    _tiny(cfg, frozen_stages=TINY['num_layers'])
    cfg.model.head.update(in_channels=32, num_heads=4, feedforward_channels=64)
    model, optim = _build(cfg, 'mmpretrain')
    trainable, changed = _cls_step(model, optim)
    assert trainable and all(n.startswith('head.') for n in trainable)
    assert 'head.pool.latent' in changed and 'head.fc.weight' in changed


def _train_step(model, optim, data):
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    model.train()
    with DefaultScope.overwrite_default_scope(model.__module__.split('.')[0]):
        log_vars = model.train_step(data, optim)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(before, model.backbone.layers[0].attn.qkv.weight)
    return log_vars


def test_upernet_config_trains_one_iteration():
    cfg = _load(UPERNET, 'mmseg')
    backbone = cfg.model.backbone
    assert (list(backbone.out_indices), backbone.out_type, backbone.featmap_stride) == \
        ([11, 23, 35, 47], 'featmap', 16)
    assert cfg.model.neck == dict(
        type='Feature2Pyramid', embed_dim=1664, rescales=[4, 2, 1, 0.5])
    assert cfg.model.decode_head.in_channels == [1664] * 4
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    _tiny(cfg, out_indices=[0, 1, 2, 3])
    cfg.model.neck.embed_dim = cfg.model.auxiliary_head.in_channels = 32
    cfg.model.decode_head.update(in_channels=[32] * 4, channels=32)
    cfg.model.auxiliary_head.channels = 16
    cfg.model.data_preprocessor.size = (64, 64)
    model, optim = _build(cfg, 'mmseg')
    images = [torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    log_vars = _train_step(model, optim, dict(inputs=images, data_samples=seg_samples(2)))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars)
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2]  # strides 4/8/16/32


def test_vitdet_config_trains_one_iteration():
    cfg = _load(VITDET, 'mmdet')
    backbone = cfg.model.backbone
    assert (list(backbone.out_indices), backbone.featmap_stride, backbone.with_cp) == \
        ([47], 16, True)
    assert cfg.model.neck.type == 'SimpleFeaturePyramid'
    assert cfg.model.neck.backbone_channel == 1664
    assert cfg.model.neck.in_channels == [416, 832, 1664, 1664]
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.9
    # the ViTDet-B release schedule is inherited: 2 iterations per update; one here
    assert cfg.optim_wrapper.accumulative_counts == 2
    cfg.optim_wrapper.accumulative_counts = 1
    _tiny(cfg, out_indices=(-1, ))
    cfg.model.neck.update(backbone_channel=32, in_channels=[8, 16, 32, 32])
    cfg.model.data_preprocessor.batch_augments = [
        dict(type='BatchFixedSizePad', size=(64, 64), pad_mask=True)
    ]
    model, optim = _build(cfg, 'mmdet')
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    log_vars = _train_step(model, optim, dict(inputs=[image], data_samples=det_samples()))
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(log_vars)
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2, 1]  # strides 4..64


def test_demo_config_runs_through_the_runner(tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(DEMO)
    assert cfg.model.backbone.type == 'ViTG' and cfg.model.backbone.out_type == 'map'
    assert cfg.optim_wrapper.optimizer.type == 'FactoredAdamW'
    assert cfg.param_scheduler[0].type == 'RsqrtLR'
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.batch_size = 8
    cfg.train_cfg = dict(by_epoch=False, max_iters=3, val_interval=3)
    cfg.param_scheduler = [
        dict(
            type='RsqrtLR',
            warmup_steps=1,
            cooldown_steps=1,
            timescale=1,
            end=3,
            by_epoch=False)
    ]
    cfg.val_dataloader.batch_size = 100
    cfg.val_dataloader.dataset.indices = 100
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert isinstance(runner.optim_wrapper.optimizer, FactoredAdamW)
    assert (tmp_path / 'iter_3.pth').is_file()
    state = next(iter(runner.optim_wrapper.optimizer.state.values()))
    assert state['step'] == 3
