# UperNet + a tiny Pyramid VisionLLaMA on the bundled demo shapes (data/demo/ade, ADE20K
# on-disk layout, 128x128, 400 training / 50 validation images; classes background,
# circle, square, triangle). Trains from scratch on 2 CPU cores in about 5 minutes:
#   python tools/train.py configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py
# mmseg's own UperNet (Twins) model, ADE20K dataset, runtime and schedule bases are
# inherited; only sizes, data paths and the schedule are changed here.
_base_ = [
    'mmseg::_base_/models/twins_pcpvt-s_upernet.py', 'mmseg::_base_/datasets/ade20k.py',
    '_base_/datasets/demo-shapes_ade.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

crop_size = (128, 128)
class_weight = [0.25, 1.0, 1.0, 1.0]
norm_cfg = dict(type='BN', requires_grad=True)  # single process on CPU: no SyncBN
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='PyramidVisionLLaMA',
        # every stage has an LSA and a GSA block (a depth-1 stage would only have LSA)
        arch=dict(
            embed_dims=[16, 32, 64, 128],
            depths=[2, 2, 2, 2],
            num_heads=[1, 2, 4, 8],
            feedforward_channels=[64, 96, 192, 384]),
        window_sizes=[8, 8, 4, 4],  # 32x32, 16x16, 8x8, 4x4 maps at 128 px
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        norm_after_stage=True,
        rope_type='as2d',
        rope_anchor=[32, 16, 8, 4],  # the demo's grids
        layer_scale_init_value=0.1,
        drop_path_rate=0.0,
        init_cfg=None),
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
        loss_decode=dict(class_weight=class_weight)))

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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(**_base_.dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(**_base_.dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader  # evaluator: mIoU, as the mmseg base

max_iters = 3000
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        **_base_.no_weight_decay.norms,
        **_base_.no_weight_decay.layer_scale
    }),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=100, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2),
    visualization=dict(type='SegVisualizationHook', draw=False))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
