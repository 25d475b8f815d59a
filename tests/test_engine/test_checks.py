"""Pre-flight rules (``visionllama_mm.engine.checks``): what the backbones expose for
them, the config rules through both entry points (``ReliableRunner``, which
OpenMMLab's own ``tools/train.py`` builds, and this package's ``build_runner``), and
the rules on the built model: feature strides and layer decay."""
import ast
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.checks import check_layer_decay, check_model
from visionllama_mm.errors import IncompatibleConfigError, ModelMismatchError
from visionllama_mm.models import AIM, PyramidVisionLLaMA, VisionLLaMA, ViTG
from visionllama_mm.models.backbones import __all__ as BACKBONES
from visionllama_mm.utils import build_runner

PLAIN = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
PYRAMID = dict(embed_dims=[8, 16, 24, 32], depths=[2] * 4, num_heads=[1, 1, 2, 2])
CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
DET = 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'
AIM_UPERNET = 'configs/aim/upernet_aim-600m-p14_ade20k-512x512.py'
VITG_VITDET = 'configs/vitg/vitdet_mask-rcnn_vit-g-p14_simplefpn_coco.py'


@pytest.mark.parametrize('cls,kwargs', [
    (VisionLLaMA, dict(patch_size=8, out_type='featmap', out_indices=[0, 1])),
    (VisionLLaMA, dict(patch_size=8, out_type='cls_token')),
    (ViTG, dict(patch_size=7, out_type='featmap', featmap_stride=8)),
    (ViTG, dict(patch_size=7)),
    (AIM, dict(patch_size=8, out_type='avg_layers', out_indices=[0, 1])),
    (AIM, dict(patch_size=8, out_type='raw', out_indices=[0, 1])),
    (PyramidVisionLLaMA, dict(arch=PYRAMID, out_indices=(1, 3))),
    (PyramidVisionLLaMA, dict(arch=PYRAMID, out_type='avg_featmap', out_indices=3)),
])
def test_backbones_expose_what_their_forward_gives(cls, kwargs):
    """``out_channels`` / ``out_strides`` / ``MAP_OUT_TYPES`` are what the forward
    returns, so the checks can read them instead of naming the class."""
    if cls is not PyramidVisionLLaMA:
        kwargs = dict(arch=PLAIN, img_size=32, **kwargs)
    model = cls(**kwargs).eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 64, 64))
    assert model.out_channels == tuple(o.shape[1 if o.dim() == 4 else -1] for o in outs)
    is_map = model.out_type in model.MAP_OUT_TYPES
    assert all((o.dim() == 4) == is_map for o in outs)
    if is_map:
        assert model.out_strides == tuple(64 // o.shape[-1] for o in outs)
        assert all(64 % o.shape[-1] == 0 for o in outs)
    else:
        assert model.out_strides is None


def test_no_module_outside_models_names_a_backbone_class():
    """The rules read what the backbones expose; only ``models/`` names them."""
    package = Path(visionllama_mm.__file__).parent
    found = []
    for path in package.rglob('*.py'):
        if path.relative_to(package).parts[0] == 'models':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [getattr(node, 'id', None), getattr(node, 'attr', None)]
            if isinstance(node, ast.alias):
                names.append(node.name)
            found += [(str(path.relative_to(package)), n) for n in names
                      if n in BACKBONES]
    assert found == []


def aim_upernet(out_type=None):
    """This package's AIM UperNet config (mmseg) with a tiny AIM."""
    cfg = Config.fromfile(AIM_UPERNET)
    cfg.model.backbone.arch = dict(embed_dims=32, num_layers=4, num_heads=2)
    if out_type is None:
        del cfg.model.backbone['out_type']
    else:
        cfg.model.backbone.out_type = out_type
    return cfg


def upstream_entry(cfg):
    """What the train script of mmseg / mmdet does with a ``runner_type``."""
    from mmengine.registry import RUNNERS
    assert cfg.runner_type == 'visionllama_mm.ReliableRunner'
    return RUNNERS.build(cfg)


def our_entry_with_a_plain_runner(cfg):
    """This package's train script (``build_runner``) with mmengine's ``Runner``."""
    cfg.runner_type = 'Runner'
    return build_runner(cfg)


@pytest.mark.parametrize('entry', [upstream_entry, our_entry_with_a_plain_runner])
@pytest.mark.parametrize('out_type', ['raw', 'avg_layers', None])
def test_dense_heads_need_feature_maps_from_both_entry_points(entry, out_type):
    """Before: ``RuntimeError: ... expected input[1, 2, 100, 64] to have 64 channels``
    (``'raw'``) or a bare ``AssertionError`` in mmseg's ``multilevel_neck.py``
    (``'avg_layers'``) at the first forward through OpenMMLab's own train script."""
    cfg = aim_upernet(out_type)
    shown = repr(out_type or 'raw')  # AIM's default
    with pytest.raises(
            IncompatibleConfigError,
            match=(rf'model.backbone.out_type={shown} gives no feature maps, but this '
                   r"mmseg \(segmentation\) model .*one of \['featmap'\] \(AIM\)")):
        entry(cfg)


def build_model(cfg):
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS'])
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return registry.MODELS.build(cfg.model)


def tiny_vitg_vitdet(**backbone):
    """This package's ViT-G ViTDet Mask R-CNN config with a tiny ViT-G/14."""
    cfg = Config.fromfile(VITG_VITDET)
    cfg.model.backbone.update(
        arch=dict(PLAIN, embed_dims=64, num_heads=4),
        img_size=56,
        out_indices=(1, ),
        with_cp=False,
        init_cfg=None,
        **backbone)
    cfg.model.neck.update(backbone_channel=64, in_channels=[16, 32, 64, 64])
    return cfg


def test_feature_strides_that_anchors_and_rois_do_not_assume():
    """Before: ViT-G (patch 14) without ``featmap_stride=16`` trained silently with
    maps at strides 3.5 .. 56 under anchors and RoIs made for 4 .. 64."""
    cfg = tiny_vitg_vitdet()
    del cfg.model.backbone['featmap_stride']
    model = build_model(cfg)
    with torch.no_grad():  # nothing else notices: the RPN runs on every level
        scores, _ = model.rpn_head(model.extract_feat(torch.zeros(1, 3, 112, 112)))
    assert len(scores) == 5
    with pytest.raises(
            ModelMismatchError,
            match=(r'model.rpn_head.anchor_generator.strides=\[4, 8, 16, 32, 64\] does '
                   r'not match the strides of the feature maps it takes, '
                   r'\[3.5, 7, 14, 28, 56\] \(model.backbone \(ViTG\) out_strides '
                   r'\(14,\), then model.neck \(SimpleFeaturePyramid\)\): set '
                   r'model.backbone.featmap_stride=16')):
        check_model(model)
    check_model(build_model(tiny_vitg_vitdet()))  # the config as released

    # an FPN on a pyramid: the RoI extractor's strides are checked too
    cfg = Config.fromfile(DET)
    key = 'model.roi_head.bbox_roi_extractor.featmap_strides'
    cfg.merge_from_dict({key: [8, 16, 32, 64]})
    expected = (rf'{key}=\[8, 16, 32, 64\] .* \[4, 8, 16, 32\] .*: set {key}='
                r'\[4, 8, 16, 32\] or change the backbone / neck')
    with pytest.raises(ModelMismatchError, match=expected):
        check_model(build_model(cfg))
    check_model(build_model(Config.fromfile(DET)))


def build_optimizer(optim_cfg, model):
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, optim_cfg)


def block_lrs(wrapper, backbone):
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    return [
        lr_of[id(p)] for n, p in backbone.named_parameters() if n.startswith('layers.')
    ]


@pytest.mark.parametrize(
    'constructor,layer_decay',
    [
        ('LayerDecayOptimWrapperConstructor', True),
        ('LearningRateDecayOptimWrapperConstructor',
         True),  # mmpretrain's, on a classifier
        ('DefaultOptimWrapperConstructor', False),  # asked for, silently not applied
    ])
def test_layer_decay_on_a_classifier(constructor, layer_decay):
    cfg = Config.fromfile(CLS)
    model = build_model(cfg)
    optim_cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        constructor=constructor,
        paramwise_cfg=dict(layer_decay_rate=0.5))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        wrapper = build_optimizer(optim_cfg, model)
    lrs = block_lrs(wrapper, model.backbone)
    assert (len(set(lrs)) > 1) == layer_decay
    if layer_decay:
        check_layer_decay(model, wrapper, optim_cfg)
    else:
        with pytest.raises(
                IncompatibleConfigError,
                match=(r"constructor='DefaultOptimWrapperConstructor' with paramwise_cfg "
                       r'layer_decay_rate=0.5 gives all 4 block depths of '
                       r'model.backbone \(VisionLLaMA\) one learning rate \(0.001\)')):
            check_layer_decay(model, wrapper, optim_cfg)
