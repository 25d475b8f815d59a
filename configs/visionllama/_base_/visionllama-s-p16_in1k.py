# Model, data, schedule and runtime of the family's ImageNet-1k configs; the two stages
# of the release (deit3-lamb_in1k.py, then *_8xb64-adamw-20e_in1k.py) set their recipes.
# Evaluation as the release (deit/datasets.py): short side 256, centre crop 224.
_base_ = [
    '../../_base_/models/visionllama-s-p16.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_deit3_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs4096_AdamW.py',
    'mmpretrain::_base_/default_runtime.py', '../../_base_/reliable_runtime.py',
    '../../_base_/no_weight_decay.py'
]
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
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# DeiT-III style weight decay: none on 1-D parameters and the class token
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        flat_decay_mult=0.0,
        custom_keys={**_base_.no_weight_decay.cls_token}))
