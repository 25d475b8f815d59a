# Attentive probe of a frozen AIM-600M (blocks 14-19) on ImageNet-1k.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = [
    '../_base_/models/aim-600m-p14.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_bicubic.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/reliable_runtime.py'
]

checkpoint = 'work_dirs/aim-600m-p14_8xb512-amp-cosine-800e_in1k/weights.pth'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        _base_.aim_600m,
        out_indices=[14, 15, 16, 17, 18, 19],
        out_type='avg_layers',
        frozen_stages=24,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=None,
    head=dict(
        type='AttentionPoolingClassifier',
        num_classes=1000,
        in_channels=1536,
        num_heads=12,
        use_batch_norm=True,
        loss=dict(type='CrossEntropyLoss')))

train_dataloader = dict(batch_size=128, drop_last=True)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05))
max_epochs, warmup_epochs = 100, 10
param_scheduler = _base_.param_scheduler  # linear warmup, then cosine to 0
param_scheduler[0]['end'] = warmup_epochs
param_scheduler[1].update(
    eta_min=0.0,
    begin=warmup_epochs,
    end=max_epochs,
    T_max=max_epochs - warmup_epochs,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
randomness = dict(seed=0, diff_rank_seed=True)
