# A tiny ViT-G-style classifier (ViTG: no class token, learned position embedding, MAP
# head) on the bundled demo shapes (data/demo/imagenet, 3 classes, 32x32), trained with
# the ViT-G/14 recipe's pieces: FactoredAdamW (bf16 first moment, factored second
# moment), decoupled head / body weight decay and the warmup -> 1/sqrt -> cooldown
# schedule. Patch 8 (4x4 tokens): a ViT with a learned position embedding learns these
# shapes much faster on few tokens. 40 epochs on 2 CPU cores, ~4 min: 46-54 % top-1
# over two runs (chance 33.3 %; 80 epochs gave no more):
#   python tools/train.py configs/demo/vit-tiny-p8_map_demo-shapes.py
_base_ = [
    'mmpretrain::_base_/default_runtime.py', '_base_/datasets/demo-shapes_cls.py',
    '../_base_/reliable_runtime.py', '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

classes = ('circle', 'square', 'triangle')
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ViTG',
        arch=dict(embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=256),
        img_size=32,
        patch_size=8,  # 4x4 tokens: a learned position embedding trains fast here
        out_type='map',
        drop_path_rate=0.0),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=len(classes),
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

optim_wrapper = dict(
    constructor='DecoupledWeightDecayOptimWrapperConstructor',
    optimizer=dict(
        type='FactoredAdamW',
        lr=1e-3,
        betas=(0.9, 0.999),
        weight_decay=0.05,
        momentum_dtype='bfloat16'),
    paramwise_cfg=dict(
        head_prefix='head.',
        head_weight_decay=1.0,
        body_weight_decay=0.05,
        no_decay_keys=(*_base_.no_weight_decay.pos_embed,
                       *_base_.no_weight_decay.map_latent)),
    clip_grad=dict(max_norm=1.0))
max_epochs = 40
param_scheduler = [
    dict(
        type='RsqrtLR',
        warmup_steps=2,
        cooldown_steps=8,
        timescale=10,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
