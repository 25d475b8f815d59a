# ViTDet Mask R-CNN over a plain (one-resolution) encoder of the package: the release's
# ViTDet recipe (mmdetection projects/ViTDet lsj-36e_coco-instance.py with
# lamadet_mask-rcnn_vit-b-mae_lsj-800-36e.py) on mmdet's Mask R-CNN and LSJ bases.
# SimpleFeaturePyramid from the last block's map with mmpretrain's LN2d, an RPN with 2
# convs, the Shared4Conv1FC box head, LN2d in the RoI heads; LSJ at 1024 as released
# (flip first, images padded to 1024 with grey 114 before normalisation); AdamW lr 1e-4,
# wd 0.1 (none on 1-D parameters, as ViTDet), layer decay 0.7 through
# LayerDecayOptimWrapperConstructor, AMP, 137250 iterations of 8 x 4 images with 2 per
# update, steps at 102937 / 125812. A config adds the backbone (`_delete_=True`: the
# base's is a ResNet) and the neck's widths (`backbone_channel`, `in_channels`).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::common/lsj-100e_coco-instance.py', '../reliable_runtime.py'
]

image_size = (1024, 1024)
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

backend_args = None
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# the release's LSJ pipeline (lsj-36e_coco-instance.py): flip first, and images padded
# to 1024 with grey 114 before normalisation (mmdet's lsj-100e base pads in the batch
# augment instead, after normalisation, i.e. with the mean colour)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=8, dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    accumulative_counts=2,
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, flat_decay_mult=0.0),
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1))

max_iters = 137250  # x 32 images / 118k images per epoch = ~37.2 epochs
interval = 5000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[102937, 125812],
        gamma=0.1),
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        save_last=True,
        interval=interval,
        max_keep_ckpts=5))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
# --auto-scale-lr compares with GPUs x batch_size (accumulation not counted): 8 x 4
auto_scale_lr = dict(base_batch_size=32)
