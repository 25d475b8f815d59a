# VisionLLaMA-B/16, stage 2 of 2: fine-tune at 224 px for 20 epochs (AdamW).
# Recipe notes: configs/visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_deit3_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs4096_AdamW.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionLLaMA',
        arch='b',
        img_size=224,
        patch_size=16,
        with_cls_token=True,
        out_type='cls_token',
        drop_path_rate=0.2,
        drop_path_mode='uniform'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    train_cfg=dict(
        augments=[dict(type='Mixup', alpha=0.8),
                  dict(type='CutMix', alpha=1.0)]))
# the whole classifier of the 192 px run (your own checkpoint: loaded by the runner)
load_from = 'work_dirs/visionllama-base-p16_8xb256-lamb-800e_in1k-192px/epoch_800.pth'

# the deit3 base pipeline without its RandomErasing (the release's --reprob 0.0)
train_pipeline = [t for t in _base_.train_pipeline if t['type'] != 'RandomErasing']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),  # crop ratio 0.875
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64, drop_last=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-5, weight_decay=0.1),
    paramwise_cfg=dict(
        _delete_=True,
        flat_decay_mult=0.0,
        custom_keys={**_base_.no_weight_decay.cls_token}))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 1e-5,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=5, end=20),  # min-lr = lr
]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
auto_scale_lr = dict(base_batch_size=512)
