# Linear probe of a frozen ViT-G/14 (MAP pre-logits) on ImageNet-1k.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = [
    '../_base_/models/vit-g-p14.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/reliable_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(_base_.vit_g, out_type='map', frozen_stages=48),
    neck=dict(type='ClsBatchNormNeck', input_features=1664),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1664,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=1.0,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))

max_epochs = 90
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 5,
        by_epoch=True,
        begin=5,
        end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=1024)
