"""The full-size MAE VisionLLaMA configs: pretraining, fine-tuning / linear probing,
UperNet (ADE20K) and ViTDet Mask R-CNN (COCO).

Every config parses, states the recipe it claims (checked against the numbers of the
paper / the inherited mmpretrain, mmseg and mmdet recipes), builds through its own
scope's registry with the pretrained file switched off, builds its optimizer (AMP
wrappers as plain ``OptimWrapper`` on the CPU) and runs ``loss`` on a tiny input.
The B models run with their real initialisation and a backward pass; the L models
(~914M backbone parameters) are built with constant-filled linear layers (skipping a
slow random init) and run ``loss`` without gradients.
"""
from pathlib import Path

import pytest
import torch
from mm_samples import det_samples, seg_samples
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.utils import convert_syncbn_for_cpu

CONFIG_DIR = Path('configs/mae_visionllama')
MAE = sorted(CONFIG_DIR.glob('mae_visionllama-*.py'))
FINETUNE = sorted(CONFIG_DIR.glob('benchmarks/*_8xb128-coslr-*.py'))
LINEAR = sorted(CONFIG_DIR.glob('benchmarks/*linear*.py'))
# release-named UperNet configs; their *_as2drope.py siblings are pinned in
# tests/test_configs/test_release_recipes.py
SEG = sorted(
    p for p in CONFIG_DIR.glob('upernet/*.py') if not p.stem.endswith('_as2drope'))
SEG_SIBLINGS = sorted(CONFIG_DIR.glob('upernet/*_as2drope.py'))
DET = sorted(CONFIG_DIR.glob('vitdet/*.py'))
ids = dict(ids=lambda p: p.stem)

WIDTH = {'b': 768, 'l': 1024}
DEPTH = {'b': 12, 'l': 24}
ENCODER_PARAMS = {'b': 255.7e6, 'l': 913.8e6}  # the release's MAE encoders


def _size(path: Path) -> str:
    name = path.stem
    if 'base' in name or 'b-mae' in name:
        return 'b'
    assert 'large' in name or 'l-mae' in name, name
    return 'l'


def test_all_configs_covered():
    assert (len(MAE), len(FINETUNE), len(LINEAR), len(SEG), len(DET)) == (3, 2, 2, 2, 2)
    assert len(SEG_SIBLINGS) == 2
    assert sorted(MAE + FINETUNE + LINEAR + SEG + SEG_SIBLINGS + DET) == \
        sorted(CONFIG_DIR.rglob('*.py'))


def _encoder(size: str, **settings) -> dict:
    """The backbone dict every downstream config gives the MAE encoder of ``size``
    (weights switched off by :func:`_load`), with the task's ``settings``."""
    encoder = dict(
        type='VisionLLaMA',
        arch=f'{size}-mae',
        img_size=224,
        patch_size=16,
        with_cls_token=False,
        final_norm=False,
        init_cfg=None)
    return dict(encoder, **settings)


def _load(path: Path, scope: str) -> Config:
    cfg = Config.fromfile(path)
    assert cfg.default_scope == scope
    assert cfg.custom_imports.imports == ['visionllama_mm']
    init_cfg = cfg.model.backbone.get('init_cfg')
    if init_cfg is not None:  # downstream configs load the MAE run's weights.pth
        size = 'base' if _size(path) == 'b' else 'large'
        assert init_cfg == dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint=f'work_dirs/mae_visionllama-{size}-p16_8xb512-amp-coslr-800e_in1k/'
            'weights.pth')
        cfg.model.backbone.init_cfg = None
    if 'pretrained' in cfg.model:
        assert cfg.model.pretrained is None
        cfg.model.pop('pretrained')
    return cfg


@pytest.fixture
def fast_linear_init(monkeypatch):
    """Constant-filled nn.Linear weights: builds a ~1B model in seconds."""

    def reset(self):
        torch.nn.init.constant_(self.weight, 1e-3)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    monkeypatch.setattr(torch.nn.Linear, 'reset_parameters', reset)


def _build(cfg: Config, scope: str, size: str):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').MODELS
    convert_syncbn_for_cpu(cfg)
    optim_cfg = dict(cfg.optim_wrapper)
    if optim_cfg.get('type') == 'AmpOptimWrapper':  # refuses the CPU
        optim_cfg['type'] = 'OptimWrapper'
        optim_cfg.pop('loss_scale', None)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        if size == 'b':
            model.init_weights()
        optim = build_optim_wrapper(model, optim_cfg)
    params = sum(p.numel() for p in model.backbone.parameters())
    assert params == pytest.approx(ENCODER_PARAMS[size], rel=2e-3)
    return model, optim


def _run_loss(model, size: str, *args) -> dict:
    if size == 'b':
        model.train()
        losses = model.loss(*args)
        total, _ = model.parse_losses(losses)
        assert torch.isfinite(total)
        total.backward()
        grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
        return losses
    model.train()
    with torch.no_grad():
        losses = model.loss(*args)
        total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    return losses


def _lr_of(optim, model, name):
    param = dict(model.named_parameters())[name]
    for group in optim.optimizer.param_groups:
        if any(p is param for p in group['params']):
            return group['lr'], group['weight_decay']
    raise AssertionError(name)


def _check_layer_decay(optim, model, size, rate, lr):
    num_depths = DEPTH[size] + 2
    assert _lr_of(optim, model, 'backbone.patch_embed.projection.weight')[0] == \
        pytest.approx(lr * rate ** (num_depths - 1))
    last = f'backbone.layers.{DEPTH[size] - 1}.attn.qkv.weight'
    assert _lr_of(optim, model,
                  last) == (pytest.approx(lr * rate),
                            pytest.approx(optim.optimizer.defaults['weight_decay']))
    # 1-D parameters (norms, biases) without weight decay
    assert _lr_of(optim, model, 'backbone.layers.0.ln1.weight')[1] == 0
    assert _lr_of(optim, model, 'backbone.layers.0.attn.qkv.bias')[1] == 0


# ---------------------------------------------------------------------- pretraining
@pytest.mark.parametrize('path', MAE, **ids)
def test_mae_pretraining(path, fast_linear_init_if_large):
    size = _size(path)
    cfg = _load(path, 'mmpretrain')
    model_cfg = cfg.model
    assert model_cfg.type == 'MAE'
    assert model_cfg.backbone == dict(
        type='MAEVisionLLaMA',
        arch=f'{size}-mae',
        img_size=224,
        patch_size=16,
        mask_ratio=0.75)
    neck = model_cfg.neck
    assert (neck.type, neck.embed_dim, neck.decoder_embed_dim, neck.decoder_depth,
            neck.decoder_num_heads) == ('MAEPretrainDecoder', WIDTH[size], 512, 8, 16)
    assert model_cfg.head.type == 'MAEPretrainHead' and model_cfg.head.norm_pix
    optim = cfg.optim_wrapper
    assert optim.type == 'AmpOptimWrapper'
    assert optim.optimizer == dict(
        type='AdamW', lr=1.5e-4 * 4096 / 256, betas=(0.9, 0.95), weight_decay=0.05)
    epochs = int(path.stem.split('coslr-')[1].split('e_')[0])
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, cosine.type, cosine.begin, cosine.end) == \
        ('LinearLR', 40, 'CosineAnnealingLR', 40, epochs)
    assert cfg.train_cfg.max_epochs == epochs
    # the release's L run: 256 per GPU (2048 in all) at the same lr
    assert cfg.train_dataloader.batch_size == {'b': 512, 'l': 256}[size]
    assert dict(cfg.train_dataloader.collate_fn) == dict(type='default_collate')
    assert [h.type for h in cfg.custom_hooks] == ['SaveWeightsHook']

    model, _ = _build(cfg, 'mmpretrain', size)
    torch.manual_seed(0)
    losses = _run_loss(model, size, torch.randn(1, 3, 224, 224), None)
    assert set(losses) == {'loss'}


# ---------------------------------------------------- fine-tuning and linear probing
def _cls_samples(num):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(i % 1000) for i in range(num)]


@pytest.mark.parametrize('path', FINETUNE, **ids)
def test_finetuning(path, fast_linear_init_if_large):
    size = _size(path)
    cfg = _load(path, 'mmpretrain')
    assert cfg.model.backbone == _encoder(
        size,
        out_type='avg_featmap',
        drop_path_rate={
            'b': 0.1,
            'l': 0.2
        }[size],
        ffn_drop_path=False)
    assert cfg.model.head.in_channels == WIDTH[size]
    # the release's layer decay 0.45 (lama-*-lrd45-* configs)
    rate, lr, epochs = {'b': (0.45, 2e-3, 100), 'l': (0.45, 4e-3, 50)}[size]
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == rate
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.train_cfg.max_epochs == epochs
    assert [a.type for a in cfg.model.train_cfg.augments] == ['Mixup', 'CutMix']

    model, optim = _build(cfg, 'mmpretrain', size)
    _check_layer_decay(optim, model, size, rate, lr)
    losses = _run_loss(model, size, torch.randn(2, 3, 64, 64), _cls_samples(2))
    assert 'loss' in losses


@pytest.mark.parametrize('path', LINEAR, **ids)
def test_linear_probing(path, fast_linear_init_if_large):
    size = _size(path)
    cfg = _load(path, 'mmpretrain')
    assert cfg.model.backbone == _encoder(
        size, frozen_stages=DEPTH[size], out_type='avg_featmap')
    assert cfg.model.neck == dict(type='ClsBatchNormNeck', input_features=WIDTH[size])
    assert cfg.model.head.in_channels == WIDTH[size]
    assert cfg.optim_wrapper.optimizer == dict(
        type='LARS', lr=6.4, weight_decay=0.0, momentum=0.9)
    assert cfg.train_dataloader.batch_size == 2048 and cfg.train_cfg.max_epochs == 90

    model, _ = _build(cfg, 'mmpretrain', size)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.layers.head.weight', 'head.layers.head.bias'}
    model.train()
    assert not model.backbone.layers[0].training  # frozen blocks stay in eval mode
    if size == 'b':
        losses = model.loss(torch.randn(2, 3, 64, 64), _cls_samples(2))
        total, _ = model.parse_losses(losses)
        total.backward()
        assert model.head.layers.head.weight.grad is not None
    else:
        _run_loss(model, size, torch.randn(2, 3, 64, 64), _cls_samples(2))


# -------------------------------------------------------------------------- UperNet


@pytest.mark.parametrize('path', SEG, **ids)
def test_upernet(path, fast_linear_init_if_large):
    size = _size(path)
    cfg = _load(path, 'mmseg')
    out_indices = {'b': [3, 5, 7, 11], 'l': [7, 11, 15, 23]}[size]
    assert cfg.model.backbone == _encoder(
        size,
        img_size=512,
        out_indices=out_indices,
        out_type='featmap',
        rope_type='2d',
        drop_path_rate=0.1,
        ffn_drop_path=False)
    width = WIDTH[size]
    assert cfg.model.neck == dict(
        type='Feature2Pyramid', embed_dim=width, rescales=[4, 2, 1, 0.5])
    assert cfg.model.decode_head.in_channels == [width] * 4
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.model.auxiliary_head.in_channels == width
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=(512, 512), stride=(341, 341))
    optim = cfg.optim_wrapper
    assert optim.constructor == 'LayerDecayOptimWrapperConstructor'
    assert dict(optim.paramwise_cfg) == dict(layer_decay_rate=0.65, flat_decay_mult=0.0)
    assert optim.optimizer == dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert cfg.train_cfg.max_iters == 160000
    # the release's L: 1 image per GPU, 2 accumulation steps
    assert cfg.train_dataloader.batch_size == {'b': 2, 'l': 1}[size]
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == {'b': 1, 'l': 2}[size]

    model, optim = _build(cfg, 'mmseg', size)
    _check_layer_decay(optim, model, size, 0.65, 1e-4)
    assert _lr_of(optim, model, 'decode_head.conv_seg.weight')[0] == pytest.approx(1e-4)
    # plain 2D RoPE as the release: a 512 crop uses coordinates 0..31, unscaled
    assert model.backbone.rope.rope_type == '2d'
    torch.manual_seed(0)
    losses = _run_loss(model, size, torch.randn(2, 3, 64, 64), seg_samples(2))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)


# --------------------------------------------------------------------------- ViTDet


@pytest.mark.parametrize('path', DET, **ids)
def test_vitdet_mask_rcnn(path, fast_linear_init_if_large):
    size = _size(path)
    cfg = _load(path, 'mmdet')
    depth = DEPTH[size]
    global_blocks = {'b': (2, 5, 8, 11), 'l': (5, 11, 17, 23)}[size]
    backbone = cfg.model.backbone
    assert backbone.type == 'VisionLLaMA' and backbone.arch == f'{size}-mae'
    assert (backbone.img_size, backbone.patch_size, backbone.window_size) == \
        (1024, 16, 14)
    assert list(backbone.out_indices) == [depth - 1]
    assert not backbone.with_cls_token and not backbone.final_norm
    assert backbone.out_type == 'featmap'
    assert list(backbone.window_block_indexes) == \
        [i for i in range(depth) if i not in global_blocks]
    assert backbone.drop_path_rate == {'b': 0.1, 'l': 0.4}[size]
    width = WIDTH[size]
    ln2d = dict(type='mmpretrain.LN2d', requires_grad=True)
    assert cfg.model.neck == dict(
        type='SimpleFeaturePyramid',
        backbone_channel=width,
        in_channels=[width // 4, width // 2, width, width],
        out_channels=256,
        num_outs=5,
        norm_cfg=ln2d)
    assert cfg.model.rpn_head.num_convs == 2
    bbox_head = cfg.model.roi_head.bbox_head
    assert (bbox_head.type, bbox_head.norm_cfg) == ('Shared4Conv1FCBBoxHead', ln2d)
    assert cfg.model.roi_head.mask_head.norm_cfg == ln2d
    assert cfg.model.data_preprocessor.batch_augments == [
        dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)
    ]
    rate = {'b': 0.7, 'l': 0.8}[size]
    optim = cfg.optim_wrapper
    assert optim.type == 'AmpOptimWrapper'
    assert optim.constructor == 'LayerDecayOptimWrapperConstructor'
    assert dict(optim.paramwise_cfg) == dict(layer_decay_rate=rate, flat_decay_mult=0.0)
    assert optim.optimizer == dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1)
    # the release's schedule: 137250 iterations of 8 x 4 images, 2 accumulation steps,
    # x0.1 at 102937 / 125812 (projects/ViTDet/configs/lsj-36e_coco-instance.py)
    assert cfg.train_cfg.max_iters == 137250
    assert cfg.optim_wrapper.accumulative_counts == 2
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size
    assert cfg.param_scheduler[1].milestones == [102937, 125812]
    train_pipeline = [t.type for t in cfg.train_dataloader.dataset.dataset.pipeline]
    assert 'RandomResize' in train_pipeline and 'RandomCrop' in train_pipeline  # LSJ

    model, optim = _build(cfg, 'mmdet', size)
    _check_layer_decay(optim, model, size, rate, 1e-4)
    assert _lr_of(optim, model, 'neck.fpn1.0.weight')[0] == pytest.approx(1e-4)
    torch.manual_seed(0)
    losses = _run_loss(model, size, torch.randn(1, 3, 64, 64), det_samples())
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)


@pytest.fixture
def fast_linear_init_if_large(request):
    if _size(request.node.callspec.params['path']) == 'l':
        request.getfixturevalue('fast_linear_init')
