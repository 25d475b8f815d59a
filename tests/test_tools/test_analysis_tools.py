"""benchmark.py --bench e2e, get_flops.py and rope_resolution_sweep.py on tiny models, in
process (benchmark.py --bench forward / train: test_benchmark_tool.py)."""
import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from torch.utils.flop_counter import FlopCounterMode

from visionllama_mm.utils import (LaunchError, build_model, load_config, make_batch,
                                  resolve_config_path, strip_pretrained)

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools'
DEMO_CONFIG = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'

BACKBONE = """dict(
    type='VisionLLaMA',
    arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
    img_size=64, patch_size=8, out_type='featmap', with_cls_token=False,
    out_indices=(0, 1),
    init_cfg=dict(type='Pretrained', checkpoint='https://example.invalid/w.pth'))"""

SEG_CONFIG = f"""
default_scope = 'mmseg'
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
    size=(64, 64))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone={BACKBONE},
    decode_head=dict(
        type='UPerHead', in_channels=[32, 32], in_index=[0, 1], pool_scales=(1, 2),
        channels=16, dropout_ratio=0.1, num_classes=3, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
"""

DET_CONFIG = f"""
default_scope = 'mmdet'
model = dict(
    type='RetinaNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone={BACKBONE},
    neck=dict(type='FPN', in_channels=[32, 32], out_channels=16, num_outs=2),
    bbox_head=dict(
        type='RetinaHead', num_classes=3, in_channels=16, stacked_convs=1,
        feat_channels=16,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=1, ratios=[1.0], strides=[8, 8]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=10))
"""


# (fixture names avoid `benchmark`, which pytest-benchmark owns where installed)
def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def benchmark_tool():
    return load_tool('benchmark')


@pytest.fixture(scope='module')
def flops_tool():
    return load_tool('get_flops')


@pytest.fixture
def tiny_configs(tmp_path):
    paths = {}
    for name, text in (('seg', SEG_CONFIG), ('det', DET_CONFIG)):
        paths[name] = tmp_path / f'tiny_{name}.py'
        paths[name].write_text(text)
    return paths


def direct_flops(config_path, scope):
    """FlopCounterMode on the tensor-mode forward and the backbone, by hand; attention
    through SDPA's math kernel (plain matmuls), which FlopCounterMode counts on the CPU
    without the tools' formula for the CPU flash kernel."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    model = build_model(load_config(str(config_path)))
    data = model.data_preprocessor(make_batch(scope, (64, 64), 1), False)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as total:
            model(data['inputs'], data['data_samples'], mode='tensor')
        with FlopCounterMode(display=False) as backbone:
            model.backbone(data['inputs'])
    return total.get_total_flops(), backbone.get_total_flops()


def test_scope_paths_resolve():
    path = resolve_config_path('mmseg::swin/swin-tiny-patch4-window7-in1k-pre_'
                               'upernet_8xb2-160k_ade20k-512x512.py')
    assert Path(path).is_file() and '.mim' in path
    cfg = load_config('mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py')
    assert cfg.default_scope == 'mmseg'
    assert strip_pretrained(cfg) >= 1 and cfg.model.backbone.init_cfg is None
    assert resolve_config_path('mmdet::retinanet/retinanet_r50_fpn_1x_coco') \
        .endswith('retinanet/retinanet_r50_fpn_1x_coco.py')
    with pytest.raises(FileNotFoundError):
        resolve_config_path('mmseg::swin/no-such-config.py')
    with pytest.raises(LaunchError, match='mmfoo'):
        resolve_config_path('mmfoo::a/b.py')


def test_strip_pretrained_nested():
    cfg = Config(
        dict(
            model=dict(
                type='X',
                pretrained='a.pth',
                backbone=dict(init_cfg=[dict(
                    type='Kaiming'), dict(type='Pretrained')]),
                neck=dict(init_cfg=dict(type='Pretrained', checkpoint='b.pth')),
                head=dict(init_cfg=[dict(
                    type='Normal'), dict(type='Pretrained')]))))
    assert strip_pretrained(cfg) == 4
    assert cfg.model.pretrained is None and cfg.model.backbone.init_cfg is None
    assert cfg.model.neck.init_cfg is None
    assert cfg.model.head.init_cfg == [dict(type='Normal')]


@pytest.mark.parametrize('name,scope', [('seg', 'mmseg'), ('det', 'mmdet')])
def test_benchmark_and_flops(name, scope, tiny_configs, tmp_path, benchmark_tool,
                             flops_tool, capsys):
    config = str(tiny_configs[name])
    common = ['--shape', '64', '64']
    result = benchmark_tool.main([
        config, '--bench', 'e2e', *common, '--batch-size', '2', '--warmup', '1',
        '--repeats', '1', '--out-dir',
        str(tmp_path / 'bench')
    ])
    row, = result['rows']
    assert row['scope'] == scope and row['test_img_s'] > 0 and row['shape'] == [64, 64]
    assert row['test_mode'] == ('whole' if scope == 'mmseg' else '-')
    assert row['test_img_s'] == pytest.approx(2e3 / row['test_ms'])
    assert json.loads((tmp_path / 'bench' /
                       'results.json').read_text())['rows'][0]['config'] == f'tiny_{name}'
    assert re.search(rf'\| tiny_{name} \| {scope} \|', capsys.readouterr().out)

    flops = flops_tool.main([config, *common, '--out', str(tmp_path / 'flops.json')])
    row, = flops['rows']
    assert row['flops'] > row['backbone_flops'] > 0
    assert row['params'] > row['backbone_params'] > 0
    assert (row['flops'], row['backbone_flops']) == direct_flops(config, scope)
    assert json.loads((tmp_path / 'flops.json').read_text())['rows'][0] == row
    assert f'| tiny_{name} | {scope} | 64x64 |' in capsys.readouterr().out


def test_two_configs_side_by_side(tiny_configs, tmp_path, benchmark_tool, capsys):
    """Timed interleaved; the second config against the first, per repetition."""
    configs = [str(tiny_configs['seg']), DEMO_CONFIG]
    result = benchmark_tool.main([
        *configs, '--shape', '32', '32', '--warmup', '0', '--repeats', '2', '--out-dir',
        str(tmp_path)
    ])
    assert [r['scope'] for r in result['rows']] == ['mmseg', 'mmpretrain']
    out = capsys.readouterr().out
    assert out.count('| tiny_seg |') == 1 and '| visionllama-tiny-p4' in out
    pair, = result['pairs']
    seg, demo = (r['test_rep_ms'] for r in result['rows'])
    assert (pair['a'], pair['b']) == tuple(configs) and pair['metric'] == 'test_time'
    assert pair['ratios'] == pytest.approx([a / b for a, b in zip(seg, demo)])
    assert (f"| tiny_seg / visionllama-tiny-p4_1xb64-50e_demo-shapes | eager | "
            f"{pair['median']:.3f}x") in out


# --------------------------------------------------------------------------
# rope_resolution_sweep_tool.py
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def sweep_tool():
    return load_tool('rope_resolution_sweep')


def test_resize_pipeline(sweep_tool):
    demo = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    assert sweep_tool.resize_pipeline(demo, 48)[1] == dict(type='Resize', scale=(48, 48))
    imagenet = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackInputs')
    ]
    out = sweep_tool.resize_pipeline(imagenet, 320)
    assert out[1]['scale'] == 366 and out[2]['crop_size'] == 320
    assert imagenet[1]['scale'] == 256  # the input is not modified
    plain = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(224, 224))]
    assert sweep_tool.resize_pipeline(plain, 160)[1]['scale'] == (160, 160)
    assert sweep_tool.rope_overrides('ntk:4') == dict(rope_type='ntk', ntk_alpha=4.0)
    assert sweep_tool.rope_overrides('as2d') == dict(rope_type='as2d')
    for bad in ('3d', '2d:2'):
        with pytest.raises(ValueError):
            sweep_tool.rope_overrides(bad)


def test_sweep_on_demo_subset(sweep_tool, tmp_path):
    cfg = load_config(DEMO_CONFIG)
    torch.manual_seed(0)
    model = build_model(cfg)
    checkpoint = tmp_path / 'init.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out_dir = tmp_path / 'sweep'
    summary = sweep_tool.main([
        DEMO_CONFIG,
        str(checkpoint),
        '--sizes',
        '32',
        '48',
        '--rope-types',
        '2d',
        'ntk:2',
        '--out-dir',
        str(out_dir),
        '--cfg-options',
        'val_dataloader.dataset.indices=20',
        # skips a gc.collect() per dataset build (~0.5 s each)
        'val_dataloader.dataset.serialize_data=False'
    ])
    for ext in ('md', 'json', 'png'):
        assert (out_dir / f'rope_sweep.{ext}').stat().st_size > 0
    results = json.loads((out_dir / 'rope_sweep.json').read_text())['results']
    assert results == summary['results'] and set(results) == {'2d', 'ntk:2'}
    values = [v for r in results.values() for v in r.values()]
    assert len(values) == 4 and all(0 <= v <= 100 for v in values)
    table = (out_dir / 'rope_sweep.md').read_text()
    assert '| RoPE | 32px | 48px |' in table and '| ntk:2 |' in table
    assert (out_dir / 'runs' / 'ntk-2_48').is_dir()
