# Attentive probe of a frozen ViT-G/14 on ImageNet-1k: a fresh MAP head (the paper's
# multi-head attention pooling, MAPClsHead) trained on the frozen trunk's final tokens
# (out_type='raw'), as AIM / V-JEPA style attentive probing. Only head.* is trained.
# AdamW lr 1e-3, wd 0.05, 90 epochs (5 warmup + cosine), 8 x 128 images, bf16 autocast.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'checkpoints/vit-g-p14_timm2mm.pth'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ViTG',
        arch='G',
        img_size=224,
        patch_size=14,
        out_type='raw',
        frozen_stages=48,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=None,
    head=dict(
        type='MAPClsHead',
        num_classes=1000,
        in_channels=1664,
        num_heads=16,
        feedforward_channels=8192,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=1.0,
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(flat_decay_mult=0.0, custom_keys={'.latent': dict(decay_mult=0.)}))

max_epochs = 90
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=1024)
