"""The AIM configs: pretraining, attentive probe, UperNet and the CPU demo.

Every full-size config parses and states its recipe; the 600M models are built on the
meta device (shapes only) for their size, and the configs are built through their own
scope with a tiny AIM in place of AIM-600M to run a training step: ``loss`` + backward
+ optimizer step for pretraining and the probe, one ``train_step`` on a 64 px input
through the real mmseg UperNet. The demo config runs a few iterations through
mmengine's Runner.
"""
import importlib
from pathlib import Path

import pytest
import torch
from mm_samples import seg_samples
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.utils import convert_syncbn_for_cpu

CONFIG_DIR = Path('configs/aim')
PRETRAIN = CONFIG_DIR / 'aim-600m-p14_8xb512-amp-cosine-800e_in1k.py'
PROBE = CONFIG_DIR / 'aim-600m-p14_attentive-probe_8xb128_in1k.py'
UPERNET = CONFIG_DIR / 'upernet_aim-600m-p14_ade20k-512x512.py'
DEMO = Path('configs/demo/aim-tiny-p4_pretrain_demo-shapes.py')
PROBE_DEMO = Path('configs/demo/aim-tiny-p4_attentive-probe_demo-shapes.py')
WEIGHTS = 'work_dirs/aim-600m-p14_8xb512-amp-cosine-800e_in1k/weights.pth'
TRUNK_600M = 24 * (12 * 1536**2 + 4 * 1536) + 14 * 14 * 3 * 1536 + 5 * 1536
# 24 blocks at width 24 (probe blocks 14..19 and UperNet blocks 5/11/17/23 exist)
TINY = dict(embed_dims=24, num_layers=24, num_heads=12)


def test_all_configs_covered():
    # checked in tests/test_configs/test_fsdp_configs.py
    fsdp = CONFIG_DIR / 'aim-3b-p14_fsdp_8xb64-bf16_in1k.py'
    assert sorted(CONFIG_DIR.glob('*.py')) == sorted([PRETRAIN, PROBE, UPERNET, fsdp])


def _registry(scope):
    return importlib.import_module(f'{scope}.registry').MODELS


def _meta_params(cfg, scope, module='backbone'):
    with torch.device('meta'), DefaultScope.overwrite_default_scope(scope):
        model = _registry(scope).build(cfg)
    return sum(p.numel() for p in getattr(model, module).parameters())


def _build(cfg: Config, scope: str):
    convert_syncbn_for_cpu(cfg)
    optim_cfg = dict(cfg.optim_wrapper)
    assert optim_cfg['type'] == 'AmpOptimWrapper'
    optim_cfg.update(type='OptimWrapper')  # AmpOptimWrapper refuses the CPU
    optim_cfg.pop('dtype', None)
    optim_cfg.pop('loss_scale', None)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = _registry(scope).build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, optim_cfg)
    return model, optim


# ------------------------------------------------------------------------ pretraining
def test_pretraining_recipe_and_one_step():
    cfg = Config.fromfile(PRETRAIN)
    assert cfg.default_scope == 'mmpretrain'
    model_cfg = cfg.model
    assert model_cfg.type == 'AIMPretrain' and model_cfg.prefix_range == (1, 255)
    assert model_cfg.backbone == dict(
        type='AIM', arch='600m', img_size=224, patch_size=14)
    head = model_cfg.head
    assert (head.type, head.in_channels, head.embed_dims, head.num_blocks, head.mlp_ratio,
            head.patch_size) == ('AIMPixelHead', 1536, 2048, 12, 4, 14)
    optim = cfg.optim_wrapper
    assert (optim.type, optim.dtype) == ('AmpOptimWrapper', 'bfloat16')
    assert optim.optimizer == dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == 0.025 * cfg.train_cfg.max_epochs == 20
    assert (cosine.type, cosine.end, cosine.eta_min) == ('CosineAnnealingLR', 800, 0)
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size
    assert cfg.model.get('data_preprocessor', cfg.data_preprocessor).type == \
        'SelfSupDataPreprocessor'
    from mmpretrain.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for transform in cfg.train_dataloader.dataset.pipeline:
            TRANSFORMS.build(transform)
    # full size on the meta device: trunk 680.5M, pixel head 2048 wide x 12 blocks
    assert _meta_params(model_cfg, 'mmpretrain') == TRUNK_600M
    head_params = (1536 * 2048 + 2048) + 12 * (2 * 2048 * 8192 + 2 * 2048) \
        + 2 * 2048 + 2048 * 588 + 588
    assert _meta_params(model_cfg, 'mmpretrain', 'head') == head_params

    cfg.model.backbone.update(arch=TINY, img_size=28)
    cfg.model.head.update(in_channels=24, embed_dims=32, num_blocks=2)
    cfg.model.prefix_range = (1, 3)
    model, optim = _build(cfg, 'mmpretrain')
    losses = model.loss(torch.randn(2, 3, 28, 28), None)
    optim.update_params(losses['loss'])
    assert torch.isfinite(losses['loss'])
    lr, wd = {}, {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            lr[id(p)], wd[id(p)] = group['lr'], group['weight_decay']
    params = dict(model.named_parameters())
    assert wd[id(params['backbone.layers.0.attn.qkv.weight'])] == 0.05
    assert wd[id(params['backbone.layers.0.ln1.weight'])] == 0  # no decay on 1-D


# ---------------------------------------------------------------------- attentive probe
def _cls_samples(num):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(i % 1000) for i in range(num)]


def test_attentive_probe_recipe_and_one_step():
    cfg = Config.fromfile(PROBE)
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.out_type, backbone.frozen_stages) == \
        ('AIM', '600m', 'avg_layers', 24)
    assert backbone.out_indices == list(range(14, 20))
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=WEIGHTS, prefix='backbone.')
    assert cfg.model.head == dict(
        type='AttentionPoolingClassifier',
        num_classes=1000,
        in_channels=1536,
        num_heads=12,
        use_batch_norm=True,
        loss=dict(type='CrossEntropyLoss'))
    assert cfg.train_dataloader.batch_size == 128
    full = dict(cfg.model, backbone=dict(backbone, init_cfg=None))
    assert _meta_params(full, 'mmpretrain') == TRUNK_600M

    cfg.model.backbone.update(arch=TINY, img_size=28, init_cfg=None)
    cfg.model.head.update(in_channels=24)
    model, optim = _build(cfg, 'mmpretrain')
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        'head.pool.cls_token', 'head.pool.k.weight', 'head.pool.v.weight',
        'head.fc.weight', 'head.fc.bias'
    }
    model.train()
    assert not model.backbone.layers[0].training and model.head.training
    before = model.head.pool.k.weight.detach().clone()
    losses = model.loss(torch.randn(2, 3, 28, 28), _cls_samples(2))
    optim.update_params(losses['loss'])
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(model.head.pool.k.weight, before)


# ------------------------------------------------------------------------------ UperNet


def test_upernet_recipe_and_one_train_step():
    cfg = Config.fromfile(UPERNET)
    assert cfg.default_scope == 'mmseg'
    backbone = cfg.model.backbone
    assert backbone == dict(
        type='AIM',
        arch='600m',
        img_size=512,
        patch_size=14,
        out_indices=[5, 11, 17, 23],
        out_type='featmap',
        final_norm=False,
        drop_path_rate=0.1,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=WEIGHTS, prefix='backbone.'))
    assert cfg.model.neck == dict(
        type='Feature2Pyramid', embed_dim=1536, rescales=[4, 2, 1, 0.5])
    assert cfg.model.decode_head.in_channels == [1536] * 4
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert cfg.model.pretrained is None
    cfg.model.pop('pretrained')
    convert_syncbn_for_cpu(cfg)
    full = dict(cfg.model, backbone=dict(backbone, init_cfg=None))
    assert _meta_params(full, 'mmseg') == TRUNK_600M - 2 * 1536  # no final norm

    cfg.model.backbone.update(arch=TINY, init_cfg=None)
    cfg.model.neck.embed_dim = 24
    cfg.model.decode_head.update(in_channels=[24] * 4, channels=16)
    cfg.model.auxiliary_head.update(in_channels=24, channels=16)
    cfg.model.data_preprocessor.size = (64, 64)
    model, optim = _build(cfg, 'mmseg')
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    # 64 px / patch 14 -> a 5x5 grid (70 px padded), rescaled 4/2/1/0.5
    assert [tuple(f.shape[-2:]) for f in feats] == [(20, 20), (10, 10), (5, 5), (2, 2)]
    data = dict(
        inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
        data_samples=seg_samples(2))
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    log_vars = model.train_step(data, optim)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars)
    assert not torch.equal(model.backbone.layers[0].attn.qkv.weight, before)
    lrs = {id(p): g['lr'] for g in optim.optimizer.param_groups for p in g['params']}
    first = lrs[id(model.backbone.patch_embed.projection.weight)]
    last = lrs[id(model.backbone.layers[23].ffn.fc1.weight)]
    assert first == pytest.approx(1e-4 * 0.65**25) and last == pytest.approx(1e-4 * 0.65)


# --------------------------------------------------------------------------------- demo
def test_demo_config_runs_through_the_runner(tmp_path):
    # the demo configs' runner (plain mmengine Runner + CheckpointHook is refused)
    from visionllama_mm.engine import ReliableRunner as Runner
    cfg = Config.fromfile(DEMO)
    assert cfg.model.type == 'AIMPretrain' and cfg.model.prefix_range == (1, 63)
    assert cfg.train_dataloader.dataset.data_root == 'data/demo/imagenet'
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.dataset.indices = 24
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3
    weights = torch.load(tmp_path / 'weights.pth', weights_only=True)['state_dict']
    assert 'backbone.layers.3.ffn.fc2.weight' in weights and 'head.pred.weight' in weights

    # the probe demo takes that weights.pth: every trunk tensor loads and stays frozen
    probe = Config.fromfile(PROBE_DEMO)
    assert probe.model.backbone.frozen_stages == 4
    assert probe.model.head.type == 'AttentionPoolingClassifier'
    probe.model.backbone.init_cfg.checkpoint = str(tmp_path / 'weights.pth')
    probe.work_dir = str(tmp_path / 'probe')
    probe.train_dataloader.batch_size = 8
    probe.train_dataloader.dataset.indices = 24
    probe.val_dataloader.dataset.indices = 8
    probe.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    probe.param_scheduler = []
    runner = Runner.from_cfg(probe)
    runner.train()
    trunk = {
        k[len('backbone.'):]: v
        for k, v in weights.items() if k.startswith('backbone.')
    }
    after = runner.model.backbone.state_dict()
    assert after.keys() == trunk.keys()
    assert all(torch.equal(after[k], trunk[k]) for k in trunk)
