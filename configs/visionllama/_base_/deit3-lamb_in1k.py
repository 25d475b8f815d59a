# DeiT-III-style supervised recipe of the release for the plain models (stage 1).
# Recipe notes: configs/visionllama/README.md ("Configs").
_base_ = ['./visionllama-s-p16_in1k.py']

img_size = 224
model = dict(
    backbone=dict(rope_type='2d'),
    head=dict(init_cfg=dict(type='TruncNormal', layer='Linear', std=.02)),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomChoice',
        transforms=[  # 3-Augment
            [dict(type='RandomGrayscale', prob=1.0, keep_channels=True)],
            [dict(type='Solarize', thr=128, prob=1.0)],
            [
                dict(
                    type='GaussianBlur',
                    magnitude_range=(0.1, 2.0),
                    magnitude_std='inf',
                    prob=1.0)
            ],
        ]),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    drop_last=True,
    sampler=dict(_delete_=True, type='RepeatAugSampler', num_repeats=3, shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=256, num_workers=10)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='Lamb', lr=4e-3, eps=1e-8, weight_decay=0.05))
max_epochs = 800
warmup_epochs = 5
param_scheduler = _base_.param_scheduler  # linear warmup (from lr 1e-6), then cosine
param_scheduler[0].update(start_factor=1e-6 / 4e-3, end=warmup_epochs)
param_scheduler[1].update(
    T_max=max_epochs - warmup_epochs,
    eta_min=1e-5,
    begin=warmup_epochs,
    end=max_epochs,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
# 8 GPUs x 256 images; use --auto-scale-lr on other setups.
auto_scale_lr = dict(base_batch_size=2048)
