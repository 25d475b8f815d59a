"""The full-size Pyramid VisionLLaMA configs (ImageNet, ADE20K UperNet, COCO Mask R-CNN).

Every config parses, builds through its own scope's registry (pretrained weights off)
with the backbone and head widths it names, and builds its optimizer; the S models run
``loss`` and ``predict`` on a tiny input through the real mmpretrain / mmseg / mmdet
models and mmcv ops on the CPU. B and L are only built (their forward is the S code
with other widths, tested in tests/test_models).
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401

CONFIG_DIR = Path('configs/pyramid_visionllama')
WIDTHS = {'s': [64, 128, 256, 512], 'b': [96, 192, 384, 768], 'l': [128, 256, 512, 1024]}
DROP_PATH_CLS = {'s': 0.2, 'b': 0.3, 'l': 0.5}


def _arch(path: Path) -> str:
    name = path.stem
    for full, short in (('small', 's'), ('base', 'b'), ('large', 'l')):
        if f'visionllama-{full}' in name or f'visionllama-{short}_' in name:
            return short
    raise AssertionError(f'no arch in {name}')


def _configs(pattern):
    return sorted(CONFIG_DIR.glob(pattern))


CLS = _configs('pyramid-visionllama-*_8xb128-300e_in1k.py')
SEG = _configs('pyramid-visionllama-*_uperhead_8xb2-160k_ade20k-512x512.py')
DET = _configs('mask-rcnn_pyramid-visionllama-*_fpn_*_coco.py')
# siblings with the corrected GSA keys (pinned in test_release_recipes.py)
SIBLINGS = _configs('*_mean-gsa-keys*.py')
ids = dict(ids=lambda p: p.stem)


def test_all_configs_covered():
    assert len(CLS) == 3 and len(SEG) == 3 and len(DET) == 6
    assert len(SIBLINGS) == 12
    assert sorted(CLS + SEG + DET + SIBLINGS) == _configs('*.py')


def _load(path, scope):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == scope
    assert cfg.custom_imports.imports == ['visionllama_mm']
    backbone = cfg.model.backbone
    assert backbone.type == 'PyramidVisionLLaMA' and backbone.arch == _arch(path)
    assert set(backbone) <= {  # _delete_ dropped every key of the base's backbone
        'type', 'arch', 'out_indices', 'out_type', 'norm_after_stage', 'rope_type',
        'gsa_key_coords', 'lsa_mask_padding', 'as2d_scale', 'drop_path_rate', 'init_cfg'
    }
    # GSA keys and LSA padding as the released code; under AS2DRoPE, its 14 / H for
    # both axes (the ImageNet configs use plain 2D RoPE and leave the default)
    assert (backbone.gsa_key_coords, backbone.lsa_mask_padding) == ('official', False)
    assert backbone.get('as2d_scale', 'per_axis') == \
        ('height' if backbone.rope_type == 'as2d' else 'per_axis')
    if scope != 'mmpretrain':
        assert backbone.init_cfg == dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint=f'visionllama://pyramid-visionllama-{_arch(path)}_in1k')
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    return cfg


def _build(cfg, scope, registry):
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim


def _decay(optim, model, name):
    param = dict(model.named_parameters())[name]
    for group in optim.optimizer.param_groups:
        if any(p is param for p in group['params']):
            return group['weight_decay']
    raise AssertionError(name)


# ---------------------------------------------------------------- ImageNet
@pytest.mark.parametrize('path', CLS, **ids)
def test_cls_config(path):
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    arch = _arch(path)
    cfg = _load(path, 'mmpretrain')
    b = cfg.model.backbone
    assert (b.out_type, tuple(b.out_indices)) == ('avg_featmap', (3, ))
    assert b.drop_path_rate == DROP_PATH_CLS[arch]
    assert cfg.model.neck is None and cfg.model.head.in_channels == WIDTHS[arch][-1]
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1e-3)
    assert '_delete' not in cfg.optim_wrapper.paramwise_cfg  # the base's typo is gone
    assert cfg.train_dataloader.batch_size == 128 and cfg.train_cfg.max_epochs == 300
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model, optim = _build(cfg, 'mmpretrain', MODELS)
    assert model.backbone.embed_dims == WIDTHS[arch]
    assert _decay(optim, model, 'backbone.layers.2.0.ln1.weight') == 0
    assert _decay(optim, model, 'backbone.layers.2.0.gamma1.weight') == 0
    assert _decay(optim, model, 'backbone.layers.2.0.attn.qkv.weight') == 0.05
    if arch != 's':
        return
    batch = dict(
        inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
        data_samples=[DataSample().set_gt_label(i) for i in (3, 7)])
    data = model.data_preprocessor(batch, training=True)  # Mixup / CutMix
    losses = model(**data, mode='loss')
    optim.update_params(sum(losses.values()))
    assert torch.isfinite(sum(losses.values()))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, training=False)
        preds = model(**data, mode='predict')
    assert preds[0].pred_score.shape == (1000, )


# ---------------------------------------------------------------- ADE20K
@pytest.mark.parametrize('path', SEG, **ids)
def test_seg_config(path):
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    arch = _arch(path)
    cfg = _load(path, 'mmseg')
    b = cfg.model.backbone
    # the release's twins_svt_lama_as-{s,b,l}: drop path 0.2 / 0.2 / 0.3, slide 512/341
    drop_path = {'s': 0.2, 'b': 0.2, 'l': 0.3}[arch]
    assert (b.norm_after_stage, b.rope_type, tuple(b.out_indices), b.drop_path_rate) \
        == (True, 'as2d', (0, 1, 2, 3), drop_path)
    assert cfg.model.decode_head.in_channels == WIDTHS[arch]
    assert cfg.model.auxiliary_head.in_channels == WIDTHS[arch][2]
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=(512, 512), stride=(341, 341))
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 2
    model, optim = _build(cfg, 'mmseg', MODELS)
    assert model.backbone.embed_dims == WIDTHS[arch]
    for name in ('backbone.layers.2.0.ln1.weight', 'backbone.layers.2.1.attn.norm.weight',
                 'backbone.norm_list.3.weight'):
        assert _decay(optim, model, name) == 0, name
    # the release decays everything whose name lacks 'norm', layer scale included
    for name in ('backbone.layers.2.0.attn.qkv.weight',
                 'backbone.layers.2.0.gamma2.weight'):
        assert _decay(optim, model, name) == 0.01, name
    if arch != 's':
        return
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64))
    samples = []
    for _ in range(2):  # BatchNorm in the PPM needs more than one value per channel
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
        samples.append(sample)
    inputs = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model.loss(inputs, samples)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    optim.update_params(loss)
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, [SegDataSample(metainfo=meta) for _ in range(2)])
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert preds[0].seg_logits.data.shape == (150, 64, 64)


# ---------------------------------------------------------------- COCO
@pytest.mark.parametrize('path', DET, **ids)
def test_det_config(path):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    arch = _arch(path)
    cfg = _load(path, 'mmdet')
    b = cfg.model.backbone
    assert (b.norm_after_stage, b.rope_type, tuple(b.out_indices)) == \
        (True, 'as2d', (0, 1, 2, 3))
    assert cfg.model.neck.in_channels == WIDTHS[arch]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.05)
    if '3x' in path.stem:
        assert cfg.train_cfg.max_epochs == 36
        assert cfg.train_dataloader.dataset.pipeline[3].type == 'RandomChoice'
    else:
        assert cfg.train_cfg.max_epochs == 12
    model, optim = _build(cfg, 'mmdet', MODELS)
    assert model.backbone.embed_dims == WIDTHS[arch]
    assert _decay(optim, model, 'backbone.layers.2.0.ln2.weight') == 0
    assert _decay(optim, model, 'backbone.layers.2.0.attn.qkv.weight') == 0.05
    if arch != 's' or '3x' in path.stem:  # the 3x model is the 1x model
        return
    meta = dict(
        img_shape=(64, 64),
        ori_shape=(64, 64),
        pad_shape=(64, 64),
        batch_input_shape=(64, 64),
        scale_factor=(1., 1.),
        img_id=0)
    sample = DetDataSample(metainfo=meta)
    mask = np.zeros((1, 64, 64), dtype=np.uint8)
    mask[0, 16:48, 8:40] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[8., 16., 40., 48.]]),
        labels=torch.tensor([3]),
        masks=BitmapMasks(mask, 64, 64))
    inputs = torch.randn(1, 3, 64, 64)
    model.train()
    losses = model.loss(inputs, [sample])
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    loss = sum(
        v if torch.is_tensor(v) else sum(v) for k, v in losses.items() if 'loss' in k)
    optim.update_params(loss)
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, [DetDataSample(metainfo=meta)])
    pred = preds[0].pred_instances
    assert pred.bboxes.shape[1:] == (4, ) and len(pred.labels) == len(pred.scores)
    assert pred.masks.shape[1:] == (64, 64)
