# ViT-G/14 fine-tuning on ImageNet-1k at 224 px (MAP head, FactoredAdamW).
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = [
    '../_base_/models/vit-g-p14.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(_base_.vit_g, out_type='map', drop_path_rate=0.1, with_cp=True),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1664,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='Constant', layer='Linear', val=0., bias=0.)]),  # zero head
    train_cfg=dict(
        augments=[dict(type='Mixup', alpha=0.8),
                  dict(type='CutMix', alpha=1.0)]))

# 8 GPUs x 64 images = 512 per step; 1 epoch = 2503 steps
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=1.0,  # bf16 needs no loss scaling
    constructor='DecoupledWeightDecayOptimWrapperConstructor',
    optimizer=dict(
        type='FactoredAdamW',
        lr=1e-4,
        betas=(0.9, 0.999),
        weight_decay=0.03,
        momentum_dtype='bfloat16'),
    # head 3.0 / body 0.03; no decay on 1-D params, the position embedding and the
    # MAP probe (big_vision decays only kernels)
    paramwise_cfg=dict(
        head_prefix='head.',
        head_weight_decay=3.0,
        body_weight_decay=0.03,
        no_decay_flat=True,
        no_decay_keys=(*_base_.no_weight_decay.pos_embed,
                       *_base_.no_weight_decay.map_latent),
        decay_mode='lr'),
    clip_grad=dict(max_norm=1.0))

max_epochs = 20
param_scheduler = [
    dict(
        type='RsqrtLR',
        warmup_steps=1,
        cooldown_steps=2,
        timescale=2,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=512)
