# ViTDet-style Mask R-CNN with the MAE-pretrained tiny plain VisionLLaMA on the bundled
# demo shapes (data/demo/coco, COCO layout, 128x128, 80 train2017 / 20 val2017 images;
# classes circle, square, triangle). First run the MAE demo, then:
#   python tools/train.py configs/demo/mae_visionllama-tiny-p4_demo-shapes.py
#   python tools/train.py \
#       configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py
# The full recipe (configs/mae_visionllama/vitdet, mmdet's Mask R-CNN + LSJ bases) is
# inherited: window attention in blocks 0 and 2 (8x8 windows, the size of the 32 px
# pretraining grid), global attention in 1 and 3, SimpleFeaturePyramid from the last
# block's map, RPN with 2 convs, Shared4Conv1FC box head, LN2d heads, layer decay through
# our constructor, weights from the MAE run's weights.pth. The backbone has stride 4
# (patch 4), so the neck levels have strides 1, 2, 4, 8 (+16); images are resized to
# 64 px (a 16x16 patch grid, 2x2 windows) to keep the stride-1 level small on the CPU.
_base_ = [
    '../mae_visionllama/vitdet/'
    'mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py'
]

classes = ('circle', 'square', 'triangle')
width = 64  # FPN / RoI head channels (256 in the full config)
image_size = (64, 64)
strides = [1, 2, 4, 8, 16]
checkpoint = 'work_dirs/mae_visionllama-tiny-p4_demo-shapes/weights.pth'
model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        # the MAE demo's encoder (configs/demo/mae_visionllama-tiny-p4_demo-shapes.py)
        arch=dict(
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=192,
            ffn_bias=True),
        img_size=image_size,
        patch_size=4,
        out_indices=(3, ),
        with_cls_token=False,
        out_type='featmap',
        final_norm=False,
        window_size=8,
        window_block_indexes=[0, 2],
        drop_path_rate=0.05,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(backbone_channel=64, in_channels=[16, 32, 64, 64], out_channels=width),
    rpn_head=dict(
        in_channels=width,
        feat_channels=width,
        # shapes are 8-25 px at 64 px: anchors 8..128 px on the stride 1..16 levels
        anchor_generator=dict(scales=[8], strides=strides)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width, featmap_strides=strides[:4]),
        bbox_head=dict(
            in_channels=width,
            conv_out_channels=width,
            fc_out_channels=256,
            num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=width, featmap_strides=strides[:4]),
        mask_head=dict(
            in_channels=width, conv_out_channels=width, num_classes=len(classes))),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))

data_root = 'data/demo/coco/'
train_pipeline = [  # a mild large-scale jitter
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
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
        times=1,
        dataset=dict(
            data_root=data_root,
            metainfo=dict(classes=classes),
            filter_cfg=dict(min_size=8),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_iters = 240  # 12 passes over the 80 training images
optim_wrapper = dict(
    type='OptimWrapper',  # the full config's AmpOptimWrapper refuses the CPU
    _delete_=True,
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0),
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[int(max_iters * 0.88), int(max_iters * 0.96)],
        gamma=0.1),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=20)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=4)
