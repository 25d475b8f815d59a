# ViTDet Mask R-CNN with the MAE-pretrained plain VisionLLaMA-B on COCO, large-scale
# jitter at 1024, 36 epochs (arXiv 2403.00522, Sec. 4.4; ViTDet arXiv 2203.16527).
# Built on mmdet's own pieces: the Mask R-CNN model (_base_/models/mask-rcnn_r50_fpn.py)
# and the LSJ COCO instance data / runtime (common/lsj-100e_coco-instance.py), changed as
# mmdet's projects/ViTDet config changes them (that project is not in mmdet's wheel):
# - backbone: VisionLLaMA 'b-mae', no class token, stride-16 map of the last block,
#   14x14 window attention in all blocks but 2/5/8/11 (global), drop path 0.1 on the
#   attention branch only (the release's blocks);
# - neck: SimpleFeaturePyramid (4x / 2x / 1x / 0.5x of that map, LN2d) -> 5 levels of 256;
# - heads: RPN with 2 convs, Shared4Conv1FC box head and mask head with LN2d;
# - data: LSJ (scale 0.1-2.0, 1024 crop), batches padded to 1024x1024; test at 1024;
# - AdamW lr 1e-4, betas (0.9, 0.999), wd 0.1, layer decay 0.7 (our constructor),
#   AMP; the release's schedule (mmdetection/projects/ViTDet/configs/
#   lsj-36e_coco-instance.py and lamadet_mask-rcnn_vit-b-mae_lsj-800-36e.py): 8 x 4
#   images per iteration with 2 accumulation steps (64 per update), 137250 iterations
#   (~37.2 epochs of 118k images; the release's comment says 36), 250 warmup
#   iterations, x0.1 at iterations 102937 and 125812 (~27.9 / 34.1 epochs).
#   The release also compresses DDP gradients to fp16 (its Fp16CompresssionHook);
#   this config does not.
# RoPE as the release's ViTDet: window blocks use window-local coordinates 0..13,
# global blocks the whole 64x64 grid (rope_type '2d', no rescaling).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::common/lsj-100e_coco-instance.py',
    '../../_base_/reliable_runtime.py'
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
    dict(type='PackDetInputs',
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
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=8,
                        dataset=dict(dataset=dict(pipeline=train_pipeline)))
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
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[102937, 125812], gamma=0.1),
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, save_last=True,
                    interval=interval, max_keep_ckpts=5))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
# --auto-scale-lr compares with GPUs x batch_size (accumulation not counted): 8 x 4
auto_scale_lr = dict(base_batch_size=32)
