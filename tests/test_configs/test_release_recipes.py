"""Each release-named config states the official VisionLLaMA recipe; siblings differ only
where they say.

Config-level checks (``Config.fromfile``, nothing is built). The comment above each test
names the file of the official release (github.com/Meituan-AutoML/VisionLLaMA) whose
values it pins.
"""
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import pytest
from mmengine.config import Config

VL = Path('configs/visionllama')
PYR = Path('configs/pyramid_visionllama')
MAE = Path('configs/mae_visionllama')


@lru_cache(maxsize=None)
def _load(path: Path) -> Config:
    """The merged config (cached: a sibling and its release share loads; read only)."""
    return Config.fromfile(str(path))


def _types(pipeline) -> list:
    return [t['type'] for t in pipeline]


def _step(pipeline, kind: str) -> Dict[str, Any]:
    (step, ) = [t for t in pipeline if t['type'] == kind]
    return step


def _eval_resize_crop(cfg: Config) -> tuple:
    """Short-side resize and centre crop of the evaluation pipeline."""
    test = cfg.val_dataloader.dataset.pipeline
    return _step(test, 'ResizeEdge')['scale'], _step(test, 'CenterCrop')['crop_size']


def _attention(backbone) -> tuple:
    """RoPE kind, GSA key coordinates, LSA padding mask and AS2DRoPE scale of a
    Pyramid VisionLLaMA (``None``: no ``as2d_scale`` set)."""
    return (backbone.rope_type, backbone.gsa_key_coords, backbone.lsa_mask_padding,
            backbone.get('as2d_scale'))


def _flat(node: Any, prefix: str = '') -> Dict[str, Any]:
    """Dotted-path view of a config, for comparing siblings with their release."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(_flat(value, f'{prefix}{key}.'))
        return out
    if isinstance(node, (list, tuple)):
        out = {}
        for i, value in enumerate(node):
            out.update(_flat(value, f'{prefix}{i}.'))
        return out or {prefix[:-1]: node}
    return {prefix[:-1]: node}


# ------------------------------------------------------- plain, supervised (deit/)
# deit/train_plain_800.sh (first line per size) with deit/dist_train_v2.sh, main_b.py
# defaults, engine_b.py (targets.gt(0.0)), samplers.py (RASampler x3), datasets.py
# (eval Resize(int(256 / 224 * size)) + CenterCrop(size)).
@pytest.mark.parametrize('name, size, lr, drop_path', [
    ('visionllama-small-p16_8xb256-lamb-800e_in1k', 224, 4e-3, 0.05),
    ('visionllama-base-p16_8xb256-lamb-800e_in1k-192px', 192, 3e-3, 0.2),
    ('visionllama-large-p16_8xb256-lamb-800e_in1k-128px', 128, 3e-3, 0.45),
])
def test_plain_800e_pretraining(name, size, lr, drop_path):
    cfg = _load(VL / f'{name}.py')
    backbone = cfg.model.backbone
    assert (backbone.img_size, backbone.drop_path_rate, backbone.drop_path_mode) == \
        (size, drop_path, 'uniform')
    assert cfg.model.head.loss.type == 'BinarizedTargetBCELoss'  # --bce-loss
    assert [a.type for a in cfg.model.train_cfg.augments] == ['Mixup', 'CutMix']
    assert [a.alpha for a in cfg.model.train_cfg.augments] == [0.8, 1.0]
    assert dict(cfg.train_dataloader.sampler) == dict(  # --repeated-aug
        type='RepeatAugSampler', num_repeats=3, shuffle=True)
    assert cfg.train_dataloader.batch_size == 256
    train = cfg.train_dataloader.dataset.pipeline
    assert _step(train, 'RandomResizedCrop')['scale'] == size
    assert 'RandomErasing' not in _types(train) and 'RandAugment' not in _types(train)
    assert _step(train, 'ColorJitter')['brightness'] == 0.3  # --color-jitter 0.3
    assert 'RandomChoice' in _types(train)  # --ThreeAugment
    assert _eval_resize_crop(cfg) == (int(256 / 224 * size), size)  # ratio 0.875
    optim = cfg.optim_wrapper
    assert dict(optim.optimizer) == dict(type='Lamb', lr=lr, eps=1e-8, weight_decay=0.05)
    assert optim.type == 'OptimWrapper' and not optim.get('clip_grad')
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 5)
    assert warmup.start_factor == pytest.approx(1e-6 / lr)  # --warmup-lr 1e-6
    assert (cosine.type, cosine.eta_min, cosine.end) == ('CosineAnnealingLR', 1e-5, 800)
    assert cfg.train_cfg.max_epochs == 800


# deit/train_plain_800.sh (the *_ft lines): --lr 1e-5, --min-lr default 1e-5 (= lr, so
# the cosine is flat), --warmup-lr 1e-6, --reprob 0.0 for B (default 0.25 for L),
# --smoothing 0.1, --aa rand-m9-mstd0.5-inc1, --no-repeated-aug, --weight-decay 0.1.
@pytest.mark.parametrize('size, erasing, drop_path', [('base', False, 0.2),
                                                      ('large', True, 0.45)])
def test_plain_20e_finetuning(size, erasing, drop_path):
    cfg = _load(VL / f'visionllama-{size}-p16_8xb64-adamw-20e_in1k.py')
    assert cfg.model.backbone.drop_path_rate == drop_path
    assert cfg.model.head.loss == dict(
        type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr, optim.weight_decay) == ('AdamW', 1e-5, 0.1)
    warmup, constant = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 5)
    assert warmup.start_factor == pytest.approx(0.1)
    assert (constant.type, constant.factor, constant.begin, constant.end) == \
        ('ConstantLR', 1.0, 5, 20)
    train = cfg.train_dataloader.dataset.pipeline
    assert _step(train, 'RandAugment')['magnitude_level'] == 9
    assert ('RandomErasing' in _types(train)) == erasing
    if erasing:
        assert _step(train, 'RandomErasing')['erase_prob'] == 0.25
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_dataloader.batch_size == 64
    assert _eval_resize_crop(cfg) == (256, 224)


# ----------------------------------------------------------------- pyramid (deit/)
# deit/train_p_300.sh through deit/main.py defaults: AdamW 5e-4 x 1024 / 512, wd 0.05,
# --clip-grad None, drop_last=True, 5 warmup epochs, min-lr 1e-5, reprob 0.25, smoothing
# 0.1, no repeated augmentation, drop path 0.2 / 0.3 / 0.5; the ImageNet pyramid models
# have no AS2DRoPE (auto_scale is a seg/det switch).
@pytest.mark.parametrize('size, drop_path', [('small', 0.2), ('base', 0.3),
                                             ('large', 0.5)])
def test_pyramid_imagenet(size, drop_path):
    cfg = _load(PYR / f'pyramid-visionllama-{size}_8xb128-300e_in1k.py')
    assert cfg.model.backbone.drop_path_rate == drop_path
    assert _attention(cfg.model.backbone) == ('2d', 'official', False, None)
    optim = cfg.optim_wrapper
    assert optim.clip_grad is None
    assert (optim.optimizer.lr, optim.optimizer.weight_decay) == (1e-3, 0.05)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, warmup.start_factor, cosine.eta_min, cosine.end) == \
        (5, 1e-3, 1e-5, 300)
    train = cfg.train_dataloader.dataset.pipeline
    assert _step(train, 'RandomErasing')['erase_prob'] == 0.25
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_dataloader.drop_last is True  # main.py's training loader
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert _eval_resize_crop(cfg) == (256, 224)


# mmseg/configs/twins/twins_svt_lama_as-{s,b,l}_uperhead_8xb2-160k_ade20k-512x512.py:
# auto_scale=True (x and y by 14 / H: mmseg/mmseg/models/backbones/twins_llama.py,
# GSAttention.forward), drop path 0.2 / 0.2 / 0.3, slide 512 / 341, mmseg's Twins-SVT
# recipe.
@pytest.mark.parametrize('size, drop_path', [('small', 0.2), ('base', 0.2),
                                             ('large', 0.3)])
def test_pyramid_upernet(size, drop_path):
    cfg = _load(PYR / f'pyramid-visionllama-{size}_uperhead_8xb2-160k_ade20k-512x512.py')
    assert cfg.model.backbone.drop_path_rate == drop_path
    assert _attention(cfg.model.backbone) == ('as2d', 'official', False, 'height')
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=(512, 512), stride=(341, 341))
    optim = cfg.optim_wrapper
    assert (optim.optimizer.lr, optim.optimizer.weight_decay) == (6e-5, 0.01)
    assert set(optim.paramwise_cfg.custom_keys) == {'pos_block', 'norm', '.ln1', '.ln2'}
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 2


# mmdetection/configs/twins/mask-rcnn_twins-b-p4-w7_fpn_ms-crop-3x_coco.py
def test_pyramid_mask_rcnn_b_3x():
    cfg = _load(PYR / 'mask-rcnn_pyramid-visionllama-b_fpn_ms-crop-3x_coco.py')
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.drop_path_rate, backbone.rope_type,
            backbone.gsa_key_coords, backbone.as2d_scale) == ('b', 0.2, 'as2d',
                                                              'official', 'height')
    optim = cfg.optim_wrapper
    assert (optim.optimizer.type, optim.optimizer.lr, optim.optimizer.weight_decay) == \
        ('AdamW', 1e-4, 0.05)
    assert {'absolute_pos_embed', 'relative_position_bias_table', 'norm'} <= \
        set(optim.paramwise_cfg.custom_keys)
    assert '.gamma' not in optim.paramwise_cfg.custom_keys  # decayed in the release
    warmup, steps = cfg.param_scheduler
    assert (warmup.end, warmup.start_factor) == (1000, 0.001)
    assert (steps.milestones, cfg.train_cfg.max_epochs) == ([27, 33], 36)
    assert cfg.train_dataloader.batch_size == 2


# ---------------------------------------------------------------- MAE (mmpretrain/)
# mmpretrain/configs/mae/mae_lama-{base-...-800e,base-...-1600e,large-...-800e}_in1k.py
@pytest.mark.parametrize('name, batch, start_factor', [
    ('mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k', 512, 1e-9),
    ('mae_visionllama-base-p16_8xb512-amp-coslr-1600e_in1k', 512, 1e-4),
    ('mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k', 256, 1e-9),
])
def test_mae_pretraining(name, batch, start_factor):
    cfg = _load(MAE / f'{name}.py')
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(2.4e-3)
    assert cfg.param_scheduler[0].start_factor == pytest.approx(start_factor)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'


# mmpretrain/configs/mae/benchmarks/lama-base-p16_8xb128-coslr-800-lrd45-100e_in1k.py,
# lama-large-p16_8xb128-coslr-800-lrd45-50e_in1k.py (64 per GPU, accumulative_counts 2);
# the fork's blocks: DropPath only inside the attention (LLaMAMLP has none).
@pytest.mark.parametrize('name, lr, batch, accum, drop_path', [
    ('visionllama-base-p16_8xb128-coslr-100e_in1k', 2e-3, 128, 1, 0.1),
    ('visionllama-large-p16_8xb128-coslr-50e_in1k', 4e-3, 64, 2, 0.2),
])
def test_mae_finetuning(name, lr, batch, accum, drop_path):
    cfg = _load(MAE / 'benchmarks' / f'{name}.py')
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.45
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == accum
    backbone = cfg.model.backbone
    assert (backbone.drop_path_rate, backbone.ffn_drop_path) == (drop_path, False)


# mmpretrain/configs/mae/benchmarks/
# lama-{base,large}-p16_8xb2048-linear-coslr-800-90e_in1k.py
@pytest.mark.parametrize('size', ['base', 'large'])
def test_mae_linear_probe(size):
    cfg = _load(MAE / 'benchmarks' /
                f'visionllama-{size}-p16_8xb2048-linear-coslr-90e_in1k.py')
    backbone = cfg.model.backbone
    assert (backbone.final_norm, backbone.out_type) == (False, 'avg_featmap')


# mmseg/configs/mae/lama-{base,large}_upernet_8xb2-800-amp-160k_ade20k-512x512.py:
# mmpretrain.VisionLLaMA img_size 512 (plain RoPE on the 32x32 grid), L: batch 1 with
# accumulative_counts 2.
@pytest.mark.parametrize('size, batch, accum', [('base', 2, 1), ('large', 1, 2)])
def test_mae_upernet(size, batch, accum):
    cfg = _load(MAE / 'upernet' /
                f'visionllama-{size}-mae_upernet_8xb2-amp-160k_ade20k-512x512.py')
    backbone = cfg.model.backbone
    assert (backbone.img_size, backbone.rope_type, backbone.ffn_drop_path,
            backbone.drop_path_rate) == (512, '2d', False, 0.1)
    assert 'rope_anchor' not in backbone
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=(512, 512), stride=(341, 341))
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == accum


# mmdetection/projects/ViTDet/configs/lsj-36e_coco-instance.py and
# lamadet_mask-rcnn_vit-b-mae_lsj-800-36e.py: 137250 iterations x 8 GPUs x 4 images,
# accumulative_counts 2, milestones 102937 / 125812, 250 warmup iterations.
def test_mae_vitdet_b():
    cfg = _load(MAE / 'vitdet' / 'mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py')
    assert cfg.train_cfg.max_iters == 137250
    warmup, steps = cfg.param_scheduler
    assert (warmup.end, warmup.start_factor) == (250, 0.001)
    assert steps.milestones == [102937, 125812]
    optim = cfg.optim_wrapper
    assert (optim.accumulative_counts, optim.paramwise_cfg.layer_decay_rate,
            optim.optimizer.weight_decay) == (2, 0.7, 0.1)
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.model.backbone.ffn_drop_path is False
    train = cfg.train_dataloader.dataset.dataset.pipeline
    assert _types(train)[2] == 'RandomFlip'  # flip before the jitter, as released
    assert _step(train, 'Pad')['pad_val'] == dict(img=(114, 114, 114))
    # ~37.2 epochs of 118k images, steps at ~27.9 / ~34.1 epochs
    assert 137250 * 32 / 118000 == pytest.approx(37.2, abs=0.05)


# -------------------------------------------------------------------- siblings
SIBLINGS = [
    *[(PYR / f'pyramid-visionllama-{s}_8xb128-300e_in1k_mean-gsa-keys.py', {
        'model.backbone.gsa_key_coords': 'mean',
        'model.backbone.lsa_mask_padding': True
    }) for s in ('small', 'base', 'large')],
    *[(PYR / f'pyramid-visionllama-{s}_uperhead_8xb2-160k_ade20k-512x512'
       '_mean-gsa-keys_whole-inference.py', {
           'model.backbone.gsa_key_coords': 'mean',
           'model.backbone.lsa_mask_padding': True,
           'model.backbone.as2d_scale': 'per_axis',
           'model.test_cfg.mode': 'whole',
           'model.test_cfg.crop_size.0': None,
           'model.test_cfg.crop_size.1': None,
           'model.test_cfg.stride.0': None,
           'model.test_cfg.stride.1': None
       }) for s in ('small', 'base', 'large')],
    *[(path, {
        'model.backbone.gsa_key_coords': 'mean',
        'model.backbone.lsa_mask_padding': True,
        'model.backbone.as2d_scale': 'per_axis'
    }) for path in sorted(PYR.glob('mask-rcnn_*_mean-gsa-keys.py'))],
    *[(MAE / 'upernet' / f'visionllama-{s}-mae_upernet_8xb2-amp-160k_ade20k-512x512'
       '_as2drope.py', {
           'model.backbone.rope_type': 'as2d',
           'model.backbone.rope_anchor.0': 14,
           'model.backbone.rope_anchor.1': 14
       }) for s in ('base', 'large')],
]


def test_every_sibling_is_listed():
    found = set(PYR.glob('*_mean-gsa-keys*.py')) | set(MAE.rglob('*_as2drope.py'))
    assert found == {path for path, _ in SIBLINGS} and len(found) == 14


@pytest.mark.parametrize('path, changes', SIBLINGS, ids=lambda p: getattr(p, 'stem', ''))
def test_sibling_differs_from_its_release_only_where_it_says(path, changes):
    sibling = _flat(_load(path).to_dict())
    release = _flat(_load(path.parent / _release_name(path)).to_dict())
    differing = {
        key
        for key in sibling.keys() | release.keys() if sibling.get(key) != release.get(key)
    }
    assert differing == set(changes)
    assert {key: sibling.get(key) for key in changes} == changes


def _release_name(path: Path) -> str:
    stem = path.stem
    for suffix in ('_mean-gsa-keys_whole-inference', '_mean-gsa-keys', '_as2drope'):
        if stem.endswith(suffix):
            return stem[:-len(suffix)] + '.py'
    raise AssertionError(path)
