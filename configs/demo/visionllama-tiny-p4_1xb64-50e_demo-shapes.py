# A tiny VisionLLaMA classifier on the bundled demo shapes (data/demo/imagenet,
# ImageNet on-disk layout, 3 classes, 32x32). Trains on 2 CPU cores in a few minutes:
#   python tools/train.py configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py
_base_ = [
    'mmpretrain::_base_/default_runtime.py', '_base_/datasets/demo-shapes_cls.py',
    '../_base_/reliable_runtime.py', '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

classes = ('circle', 'square', 'triangle')
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionLLaMA',
        arch=dict(
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=192,
            ffn_bias=False,
            layer_scale_init_value=0.1),
        img_size=32,
        patch_size=4,
        with_cls_token=True,
        out_type='cls_token',
        rope_type='2d',
        drop_path_rate=0.0),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=len(classes),
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.cls_token}),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR', T_max=48, eta_min=1e-5, by_epoch=True, begin=2, end=50),
]
train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=10)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(type='CheckpointHook', interval=25, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
