# ViTDet Mask R-CNN + MAE-pretrained VisionLLaMA-B, COCO, LSJ 1024, 36 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::common/lsj-100e_coco-instance.py', '../../_base_/reliable_runtime.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
image_size = (1024, 1024)
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch='b-mae',
        img_size=1024,
        patch_size=16,
        out_indices=(11, ),
        with_cls_token=False,
        out_type='featmap',
        final_norm=False,
        window_size=14,
        window_block_indexes=[0, 1, 3, 4, 6, 7, 9, 10],
        drop_path_rate=0.1,
        ffn_drop_path=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
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
    # flat_decay_mult=0: no weight decay on 1-D parameters (norms, biases), as ViTDet
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
