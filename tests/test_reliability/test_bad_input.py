"""Bad input gives a clear error naming the parameter / file and the allowed values
(the issue's list, one test each; the backbones' own tests cover more arguments)."""
import argparse
import types

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import visionllama_mm  # noqa: F401
from visionllama_mm.engine import (IncompatibleConfigError, InputChannelsHook,
                                   NonFiniteLossError, check_config)
from visionllama_mm.models import AIM, PyramidVisionLLaMA, VisionLLaMA, ViTG
from visionllama_mm.models.layers.rope import RotaryEmbedding2D
from visionllama_mm.utils import build_runner, prepare_train_config

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
VITDET = 'configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py'
PLAIN = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
PYRAMID = dict(
    embed_dims=[16, 32, 64, 128],
    depths=[2, 2, 2, 2],
    num_heads=[1, 2, 4, 8],
    feedforward_channels=[64, 96, 192, 384])


def plain(cls=VisionLLaMA, **kwargs):
    return cls(**{'arch': PLAIN, 'img_size': 32, 'patch_size': 8, **kwargs})


@pytest.mark.parametrize('build,match', [
    (lambda: plain(arch='xl'), r"arch 'xl' is not one of \["),
    (lambda: PyramidVisionLLaMA(arch='xs'), r"arch 'xs' is not one of \["),
    (lambda: plain(AIM, arch='h'), r"arch 'h' is not one of \["),
    (lambda: plain(ViTG, arch='g2'), r"arch 'g2' is not one of \["),
    (lambda: plain(rope_type='3d'), r"rope_type must be one of .*'2d'.*got '3d'"),
    (lambda: PyramidVisionLLaMA(arch=PYRAMID, rope_type='xy'),
     'rope_type must be one of'),
])
def test_unknown_arch_or_rope_type(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    'build,match',
    [
        # heads must divide the width; 2D RoPE rotates channel quadruples per head
        (lambda: plain(arch=dict(PLAIN, num_heads=3)),
         r'embed_dims \(32\) must be divisible by num_heads \(3\)'),
        (lambda: plain(arch=dict(PLAIN, embed_dims=24, num_heads=4)),
         r"head_dim must be a multiple of 4 for rope_type='2d', got 6"),
        (lambda: PyramidVisionLLaMA(arch=dict(PYRAMID, embed_dims=[16, 32, 64, 130])),
         r'embed_dims \(130\) must be divisible by num_heads \(8\)'),
        (lambda: RotaryEmbedding2D(6), 'multiple of 4'),
        (lambda: plain(patch_size=0), 'patch_size must be a positive int, got 0'),
        (lambda: PyramidVisionLLaMA(arch=PYRAMID, window_sizes=0),
         'window_size must be >= 1'),
        (lambda: plain(
            with_cls_token=False,
            out_type='featmap',
            window_size=0,
            window_block_indexes=[0]), 'window_size >= 1'),
    ])
def test_sizes_that_do_not_divide(build, match):
    # inputs that are no multiple of the patch / window are padded by design
    # (tests/test_models/test_backbones: test_any_input_size, test_lsa_padding)
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize('build', [
    lambda: plain(out_indices=(2, )),
    lambda: plain(out_indices=(-3, )),
    lambda: PyramidVisionLLaMA(arch=PYRAMID, out_indices=(0, 4)),
    lambda: plain(AIM, out_indices=(5, )),
])
def test_out_indices_out_of_range(build):
    with pytest.raises(
            ValueError,
            match=r'out_indices entry -?\d+ is out of range: '
            r'allowed -\d+..\d+'):
        build()


@pytest.mark.parametrize('model,size', [
    (lambda: plain(), (4, 32)),
    (lambda: PyramidVisionLLaMA(arch=PYRAMID), (32, 2)),
    (lambda: plain(AIM, out_type='raw'), (7, 7)),
    (lambda: plain(ViTG, out_type='featmap'), (4, 4)),
])
def test_image_smaller_than_one_patch(model, size):
    with pytest.raises(
            ValueError,
            match=r'input \(\d+, \d+\) is smaller than one patch '
            r'\(patch_size=\d+\)'):
        model()(torch.randn(1, 3, *size))


def test_grayscale_and_rgba_images_in_a_dataset(tmp_path):
    """Real files: 'unchanged' loading keeps 1 / 4 channels and the check names the
    file; the default colour loading converts both to the 3 channels the model takes."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS
    rng = np.random.default_rng(0)
    files = {
        'a_gray.png': rng.integers(0, 255, (32, 32), np.uint8),
        'b_rgba.png': rng.integers(0, 255, (32, 32, 4), np.uint8),
        'c_rgb.png': rng.integers(0, 255, (32, 32, 3), np.uint8)
    }
    (tmp_path / 'shapes').mkdir()
    for name, image in files.items():
        assert cv2.imwrite(str(tmp_path / 'shapes' / name), image)
    cfg = Config.fromfile(CLS)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        hook = InputChannelsHook()
        hook.before_run(types.SimpleNamespace(model=model))
        assert hook.channels == 3

        def batch(color_type):
            dataset = DATASETS.build(
                dict(
                    type='CustomDataset',
                    data_root=str(tmp_path),
                    with_label=False,
                    pipeline=[
                        dict(type='LoadImageFromFile', color_type=color_type),
                        dict(type='PackInputs')
                    ]))
            return {
                name: pseudo_collate([dataset[i]])
                for i, name in enumerate(sorted(files))
            }

        unchanged = batch('unchanged')
        for name, channels in [('a_gray.png', 1), ('b_rgba.png', 4)]:
            with pytest.raises(
                    ValueError,
                    match=f'image .*{name} has {channels} '
                    r'channels \(shape C,H,W = .*\), but the model '
                    'takes in_channels=3'):
                hook.before_train_iter(None, 0, unchanged[name])
        hook.before_val_iter(None, 0, unchanged['c_rgb.png'])
        for data in batch('color').values():  # the configs' default loading
            hook.before_test_iter(None, 0, data)
            model.eval()
            with torch.no_grad():
                model.test_step(data)


def test_backbone_that_cannot_serve_the_task():
    cfg = Config.fromfile(VITDET)
    check_config(cfg)  # the demo itself is fine: out_type='featmap'
    cfg.model.backbone.out_type = 'cls_token'
    cfg.model.backbone.with_cls_token = True
    with pytest.raises(
            IncompatibleConfigError,
            match=r"model.backbone.out_type='cls_token' gives no "
            r"feature maps, .*mmdet \(detection\).*one of \['featmap'\]"):
        build_runner(cfg)
    del cfg.model.backbone['out_type']  # VisionLLaMA's default is 'cls_token'
    with pytest.raises(IncompatibleConfigError, match="out_type='cls_token'"):
        check_config(cfg)
    # and the window (ViTDet) layout itself refuses a class token at build
    with pytest.raises(ValueError, match='with_cls_token=False'):
        plain(out_type='featmap', window_size=2, window_block_indexes=[0])


def test_pretrained_file_without_matching_keys(tmp_path):
    ckpt = tmp_path / 'resnet.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 7, 7)}}, ckpt)
    model = plain(
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    with pytest.raises(
            ValueError, match=f'{ckpt} has no key in common with '
            'VisionLLaMA'):
        model.init_weights()


def test_non_finite_loss_stops_naming_iteration_and_checkpoint(tmp_path):
    cfg = Config.fromfile(CLS)
    import reliability_helpers  # noqa: F401  (NaNAtIterHook)
    cfg.custom_hooks = [dict(type='NaNAtIterHook', at_iter=3)]
    args = argparse.Namespace(
        config=CLS,
        work_dir=str(tmp_path),
        launcher='none',
        amp=False,
        auto_scale_lr=False,
        resume=None,
        cfg_options={
            'train_dataloader.batch_size': 4,
            'train_dataloader.dataset.indices': 8,
            'train_cfg.max_epochs': 3,
            'train_cfg.val_interval': 10,
            'val_dataloader.dataset.indices': 4,
            'default_hooks.logger.interval': 1,
            'default_hooks.checkpoint.by_epoch': False,
            'default_hooks.checkpoint.interval': 1
        })
    runner = build_runner(prepare_train_config(cfg, args))
    with pytest.raises(
            NonFiniteLossError,
            match=r'non-finite loss at iteration 3 '
            r'\(epoch 2\): loss=nan.*the last checkpoint with finite weights '
            'is '
            f'{tmp_path / "iter_2.pth"}'):
        runner.train()
    assert not (tmp_path / 'iter_3.pth').exists()  # no checkpoint of broken weights
