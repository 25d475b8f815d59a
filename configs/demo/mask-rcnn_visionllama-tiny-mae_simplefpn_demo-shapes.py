# ViTDet-style Mask R-CNN with the MAE-pretrained tiny plain VisionLLaMA on the bundled
# demo shapes (data/demo/coco, COCO layout, 128x128, 80 train2017 / 20 val2017 images;
# classes circle, square, triangle). First run the MAE demo, then:
#   python tools/train.py configs/demo/mae_visionllama-tiny-p4_demo-shapes.py
#   python tools/train.py \
#       configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py
# The release's ViTDet config (configs/mae_visionllama/vitdet, mmdet's Mask R-CNN + LSJ
# bases) is inherited: the MAE encoder without class token, final norm or drop path in
# the MLP branch, window attention (here in blocks 0 and 2: 8x8 windows, the size of the
# 32 px pretraining grid; global in 1 and 3), SimpleFeaturePyramid from the last block's
# map, RPN with 2 convs, Shared4Conv1FC box head, LN2d heads, layer decay through our
# constructor, weights from the MAE run's weights.pth. The backbone has stride 4
# (patch 4), so the neck levels have strides 1, 2, 4, 8 (+16); images are resized to
# 64 px (a 16x16 patch grid, 2x2 windows) to keep the stride-1 level small on the CPU.
_base_ = [
    '../mae_visionllama/vitdet/mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py',
    '_base_/models/visionllama-tiny-mae.py', '_base_/datasets/demo-shapes_coco.py'
]

image_size = (64, 64)
strides = [1, 2, 4, 8, 16]
max_iters = 240  # 12 passes over the 80 training images
model = dict(
    _base_.demo_mask_rcnn,
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    backbone=dict(
        arch=dict(_base_.tiny_mae_arch, _delete_=True),
        img_size=image_size,
        patch_size=4,
        out_indices=(3, ),
        window_size=8,
        window_block_indexes=[0, 2],
        drop_path_rate=0.05,
        init_cfg=dict(checkpoint=_base_.tiny_mae_weights)),
    neck=dict(backbone_channel=64, in_channels=[16, 32, 64, 64], out_channels=64),
    # shapes are 8-25 px at 64 px: anchors 8..128 px on the stride 1..16 levels
    rpn_head=dict(
        _base_.demo_mask_rcnn.rpn_head,
        anchor_generator=dict(scales=[8], strides=strides)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=strides[:4]),
        bbox_head=dict(_base_.demo_mask_rcnn.roi_head.bbox_head, conv_out_channels=64),
        mask_roi_extractor=dict(out_channels=64, featmap_strides=strides[:4]),
        mask_head=_base_.demo_mask_rcnn.roi_head.mask_head))

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
    _base_.demo_loader,
    dataset=dict(
        times=1,
        dataset=dict(
            _base_.demo_dataset, filter_cfg=dict(min_size=8), pipeline=train_pipeline)))
val_dataloader = dict(
    _base_.demo_loader, dataset=dict(_base_.demo_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = test_evaluator = _base_.demo_evaluator

optim_wrapper = dict(
    type='OptimWrapper',  # the full config's AmpOptimWrapper refuses the CPU
    _delete_=True,
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0),
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=10.0))
param_scheduler = _base_.param_scheduler  # linear warmup, steps at 88 % / 96 %
param_scheduler[0].update(start_factor=0.01, end=40)
param_scheduler[1].update(
    end=max_iters, milestones=[int(max_iters * 0.88),
                               int(max_iters * 0.96)])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=20)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=4)
