# UperNet + a tiny Pyramid VisionLLaMA on the bundled demo shapes (data/demo/ade, ADE20K
# on-disk layout, 128x128, 400 training / 50 validation images; classes background,
# circle, square, triangle). Trains from scratch on 2 CPU cores in about 5 minutes:
#   python tools/train.py configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py
# The release's UperNet config (configs/pyramid_visionllama/, mmseg's Twins-SVT-S UperNet
# recipe) is inherited: LayerNorm-ed NCHW maps of the four stages, AS2DRoPE, the release's
# GSA keys and LSA padding, no weight decay on the norms. The demo's: the tiny arch from
# scratch, smaller heads with BatchNorm (one process on the CPU), the data at 128 px,
# whole-image inference, AdamW, lr and 3000 iterations.
_base_ = [
    '../pyramid_visionllama/'
    'pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py',
    '_base_/models/pyramid-visionllama-tiny.py', '_base_/datasets/demo-shapes_ade.py'
]

crop_size = (128, 128)
max_iters = 3000
class_weight = [0.25, 1.0, 1.0, 1.0]
norm_cfg = dict(type='BN', requires_grad=True)  # single process on CPU: no SyncBN
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _base_.tiny_pyramid, arch=dict(_base_.tiny_pyramid_arch, _delete_=True)),
    # Background is ~90 % of the pixels: without down-weighting it the model first
    # finds the shapes and then sits on a plateau calling every shape a circle.
    decode_head=dict(
        in_channels=[16, 32, 64, 128],
        channels=48,
        pool_scales=(1, 2, 4),
        dropout_ratio=0.0,
        num_classes=len(_base_.classes),
        norm_cfg=norm_cfg,
        loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(
        in_channels=64,
        channels=32,
        dropout_ratio=0.0,
        num_classes=len(_base_.classes),
        norm_cfg=norm_cfg,
        loss_decode=dict(class_weight=class_weight)),
    test_cfg=dict(_delete_=True, mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    # shapes keep their class under any rotation, flip, scale and colour change
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    # the 8 rotations / reflections by multiples of 90 degrees (no padding)
    dict(type='RandomRotFlip', rotate_prob=0.0, flip_prob=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = _base_.test_pipeline  # mmseg's ADE20K test pipeline at the crop size
test_pipeline[1].scale = crop_size
train_dataloader = dict(
    _base_.demo_loader,
    batch_size=8,
    dataset=dict(_base_.dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _base_.demo_loader,
    batch_size=4,
    dataset=dict(_base_.dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader  # evaluator: mIoU, as the mmseg base

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        **_base_.no_weight_decay.norms,
        **_base_.no_weight_decay.layer_scale
    }),
    clip_grad=None)
param_scheduler = _base_.param_scheduler  # linear warmup, then poly (per iteration)
param_scheduler[0].update(start_factor=1e-2, end=100)
param_scheduler[1].update(begin=100, end=max_iters)
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(
    checkpoint=dict(interval=500, max_keep_ckpts=2), visualization=dict(draw=False))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
