# Mask R-CNN + FPN + a tiny Pyramid VisionLLaMA on the bundled demo shapes
# (data/demo/coco,
# COCO on-disk layout, 128x128, 80 train2017 / 20 val2017 images; classes circle, square,
# triangle). Trains from scratch on 2 CPU cores in a few minutes:
#   python tools/train.py \
#       configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py
# mmdet's own Mask R-CNN 1x config (model, COCO instance dataset, runtime) is inherited;
# only widths, anchor sizes, sample counts, data paths and the schedule change here.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

classes = ('circle', 'square', 'triangle')
width = 64  # FPN / RoI head channels (mmdet's default 256)
model = dict(
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
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width),
    rpn_head=dict(
        in_channels=width,
        feat_channels=width,
        # shapes are 16-50 px: anchors of 16..256 px instead of 32..512
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(
            in_channels=width, conv_out_channels=width, num_classes=len(classes))),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))

data_root = 'data/demo/coco/'
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_epochs = 12
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
