# MAE pretraining of VisionLLaMA-B/16 on ImageNet-1k, 800 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
    '../_base_/reliable_runtime.py'
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='MAEVisionLLaMA',
        arch='b-mae',
        img_size=224,
        patch_size=16,
        mask_ratio=0.75),
    neck=dict(embed_dim=768))

# the base's collate_fn=dict(type='default_collate') breaks when inherited through
# `mmpretrain::` ("default_collate() got an unexpected keyword argument '_scope_'")
train_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))

custom_hooks = [dict(type='SaveWeightsHook')]
