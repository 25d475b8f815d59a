# Attentive probe (a fresh MAP head) of a frozen ViT-G/14 on ImageNet-1k.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = ['./vit-g-p14_linear-probe_8xb128-90e_in1k.py', '../_base_/no_weight_decay.py']

model = dict(
    backbone=dict(out_type='raw'),
    neck=None,
    head=dict(
        _delete_=True,
        type='MAPClsHead',
        num_classes=1000,
        in_channels=1664,
        num_heads=16,
        feedforward_channels=8192,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        flat_decay_mult=0.0, custom_keys={**_base_.no_weight_decay.map_latent}))

param_scheduler = _base_.param_scheduler  # the linear probe's, per iteration
param_scheduler[1]['convert_to_iter_based'] = True
