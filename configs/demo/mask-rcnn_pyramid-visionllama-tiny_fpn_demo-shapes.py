# Mask R-CNN + FPN + a tiny Pyramid VisionLLaMA on the bundled demo shapes
# (data/demo/coco, COCO on-disk layout, 128x128, 80 train2017 / 20 val2017 images;
# classes circle, square, triangle). Trains from scratch on 2 CPU cores in a few minutes:
#   python tools/train.py \
#       configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py
# The release's Mask R-CNN config (configs/pyramid_visionllama/, mmdet's Swin-T 1x
# recipe) is inherited: LayerNorm-ed NCHW maps of the four stages into the FPN, AS2DRoPE,
# the release's GSA keys and LSA padding, no weight decay on the norms. The demo's: the
# tiny arch from scratch, widths, anchor sizes, sample counts, the data at 128 px, AdamW,
# lr and the schedule.
_base_ = [
    '../pyramid_visionllama/mask-rcnn_pyramid-visionllama-s_fpn_1x_coco.py',
    '_base_/models/pyramid-visionllama-tiny.py', '_base_/datasets/demo-shapes_coco.py'
]

img_scale = (128, 128)
max_epochs = 12
model = dict(
    _base_.demo_mask_rcnn,
    backbone=dict(
        _base_.tiny_pyramid, arch=dict(_base_.tiny_pyramid_arch, _delete_=True)),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    # shapes are 16-50 px: anchors of 16..256 px instead of 32..512
    rpn_head=dict(_base_.demo_mask_rcnn.rpn_head, anchor_generator=dict(scales=[4])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = _base_.test_pipeline  # mmdet's COCO test pipeline at the demo's size
test_pipeline[1].scale = img_scale
train_dataloader = dict(
    _base_.demo_loader, dataset=dict(_base_.demo_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _base_.demo_loader, dataset=dict(_base_.demo_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = test_evaluator = _base_.demo_evaluator

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        **_base_.no_weight_decay.norms,
        **_base_.no_weight_decay.layer_scale
    }),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
