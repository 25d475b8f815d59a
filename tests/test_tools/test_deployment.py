"""ONNX export (``visionllama_mm.apis.deploy``, ``tools/deployment``) vs ONNX Runtime.

Every backbone family exports with dynamic batch / height / width, and ONNX Runtime
matches PyTorch to 1e-4 at the export size and at a size that is no multiple of the
patch (4) nor of the windows, so the padding paths run: AS2DRoPE VisionLLaMA, AIM and
ViT-G (exported at its training grid) as bare backbones at 32x32 and 41x45 (layer scale
1, so attention and with it RoPE moves the outputs far more than 1e-4); plain 2D-RoPE
VisionLLaMA with a class token as the demo classifier (32x32, 41x41) and the pyramid
(LSA and GSA padding) inside an mmseg UperNet, whole inference (44x44, 55x55), through
``tools/deployment``.
"""
import importlib.util
from pathlib import Path

import onnx
import pytest
import torch
from mmpretrain.registry import MODELS
from torch import nn

import visionllama_mm  # noqa: F401
from visionllama_mm.apis.deploy import (detect_task, export_onnx, onnx_session,
                                        parity_rows, read_export_metadata)
from visionllama_mm.utils import build_model, load_config

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'deployment'
TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
SECOND = (41, 45)

# name -> (backbone config, export size). Plain 2D RoPE with a class token and the
# pyramid run through the tools below (the demo classifier, an UperNet).
BACKBONES = {
    'visionllama-as2drope': (dict(
        type='VisionLLaMA',
        arch=TINY,
        img_size=32,
        patch_size=4,
        with_cls_token=False,
        out_type='featmap',
        rope_type='as2d',
        layer_scale_init_value=1.), (32, 32)),
    'aim': (dict(
        type='AIM',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2),
        img_size=32,
        patch_size=4,
        out_type='featmap'), (32, 32)),
    'vitg-map-at-training-grid':
    (dict(type='ViTG', arch=TINY, img_size=32, patch_size=4, out_type='map'), (32, 32)),
}


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _input_dims(path):
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    return [d.dim_param or d.dim_value for d in dims]


@pytest.mark.parametrize('name', list(BACKBONES))
def test_backbone_exports_and_matches_onnxruntime(name, tmp_path):
    cfg, shape = BACKBONES[name]
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg)).eval()
    out = str(tmp_path / f'{name}.onnx')
    info = export_onnx(model, 'backbone', shape, out, dynamic=True)
    assert all(isinstance(d, str) for d in _input_dims(out)[:1] + _input_dims(out)[2:])
    rows = parity_rows(
        model,
        'backbone',
        onnx_session(out), [shape, SECOND],
        batch_size=2,
        repeats=1,
        warmup=0)
    for row in rows:
        assert row['max_abs'] <= 1e-4, (name, row)
    assert info['outputs'][0] == 'out0'


class FrozenSizeBranch(nn.Module):
    """A Python branch on the input width: torch.export keeps the example's branch."""

    def forward(self, x):
        if x.shape[-1] % 2:
            x = x * 2
        return (x.mean(dim=(2, 3)), )


def test_frozen_size_branch_is_an_export_error(tmp_path):
    with pytest.raises(
            RuntimeError, match=r'wrong at 41x41.*frozen.*\(size\[3\] % 2\) == 0'):
        export_onnx(
            FrozenSizeBranch(),
            'backbone', (32, 32),
            str(tmp_path / 'branch.onnx'),
            dynamic=True)
    # a static export of the same module is fine at its one size
    info = export_onnx(FrozenSizeBranch(), 'backbone', (32, 32),
                       str(tmp_path / 'static.onnx'))
    assert _input_dims(info['out']) == [1, 3, 32, 32]


# layer scale 1 instead of the demos' 0.1: a wrong RoPE position or padding then moves
# the outputs far more than the 1e-4 tolerance
LAYER_SCALE = {'model.backbone.layer_scale_init_value': 1.0}
OPTIONS = ['--cfg-options', 'model.backbone.layer_scale_init_value=1.0']


def _checkpoint(config, path, shift=0.):
    torch.manual_seed(0)
    model = build_model(load_config(config, LAYER_SCALE))
    state = {
        k: v + shift if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    torch.save(dict(state_dict=state), path)
    return str(path)


# mmseg UperNet (whole inference) on a 2-stage pyramid: at 44x44 the 11x11 first-stage
# map pads LSA's 3x3 windows and GSA's 2x2 cells and PPM pools 11 into 2 and 3 bins;
# the second size (55x55) pads the windows of both stages
SEG_CONFIG = """
default_scope = 'mmseg'
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(44, 44)),
    backbone=dict(type='PyramidVisionLLaMA',
                  arch=dict(embed_dims=[8, 16], depths=[2, 2], num_heads=[1, 2]),
                  window_sizes=3, sr_ratios=(2, 1), rope_type='as2d', rope_anchor=6,
                  out_indices=(0, 1), norm_after_stage=True),
    decode_head=dict(type='UPerHead', in_channels=[8, 16], in_index=[0, 1],
                     pool_scales=(1, 2, 3), channels=16, dropout_ratio=0.0,
                     num_classes=3, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
"""
DEMO_CLASSIFIER = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'


@pytest.mark.parametrize('task,shape', [('classifier', (32, 32)),
                                        ('segmentor', (44, 44))])
def test_tools_export_and_verify(task, shape, tmp_path, capsys):
    config = DEMO_CLASSIFIER
    if task == 'segmentor':
        config = str(tmp_path / 'upernet.py')
        Path(config).write_text(SEG_CONFIG)
    ckpt = _checkpoint(config, tmp_path / 'model.pth')
    out = str(tmp_path / 'model.onnx')
    assert _tool('pytorch2onnx').main(
        [config, ckpt, '--out', out, '--shape', *map(str, shape), '--dynamic',
         *OPTIONS]) == 0
    meta = read_export_metadata(out)
    assert meta['export_shape'] == f'{shape[0]},{shape[1]}'
    assert meta['task'] == task
    verify = _tool('verify_onnx')
    assert verify.main(
        [config, ckpt, out, '--batch-size', '2', '--repeats', '1', *OPTIONS]) == 0
    table = capsys.readouterr().out
    assert f'| {shape[0]}x{shape[1]} |' in table and '| yes |' in table
    assert table.count('| yes |') == 2, table
    if task == 'segmentor':
        return
    # other weights than the exported ones: the check fails with exit status 1
    other = _checkpoint(config, tmp_path / 'other.pth', shift=0.05)
    assert verify.main([config, other, out, '--repeats', '1', *OPTIONS]) == 1


def test_detector_is_refused_with_the_reason():
    model = build_model(
        load_config('configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'))
    with pytest.raises(ValueError, match='RPN post-processing.*--part backbone'):
        detect_task(model)
    assert detect_task(model.backbone) == 'backbone'
