# A tiny VisionLLaMA classifier on the bundled demo shapes (data/demo/imagenet,
# ImageNet on-disk layout, 3 classes, 32x32). Trains on 2 CPU cores in a few minutes:
#   python tools/train.py configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py
# The release's VisionLLaMA-S classifier (configs/visionllama/) is inherited: class
# token, 2D RoPE, linear head, its initialisation and no weight decay on the class token.
# The demo's: a 64-wide, 4-block arch with layer scale, 32 px inputs in patches of 4, the
# data, cross-entropy without Mixup / CutMix, AdamW and a 50-epoch schedule.
_base_ = [
    '../visionllama/visionllama-small-p16_8xb256-lamb-800e_in1k.py',
    '_base_/datasets/demo-shapes_cls.py'
]

img_size, max_epochs = 32, 50
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=192,
            ffn_bias=False,
            layer_scale_init_value=0.1),
        img_size=img_size,
        patch_size=4,
        drop_path_rate=0.0),
    head=dict(
        num_classes=len(_base_.classes),
        in_channels=64,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    train_cfg=None)

data_preprocessor = dict(num_classes=len(_base_.classes))
train_pipeline, test_pipeline = _base_.demo_pipelines
train_dataloader = dict(
    _base_.demo_train_dataloader,
    drop_last=False,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
val_dataloader = test_dataloader = _base_.demo_val_dataloader
val_evaluator = test_evaluator = dict(topk=(1, ))

optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.cls_token}),
    clip_grad=dict(max_norm=5.0))
param_scheduler = _base_.param_scheduler  # warmup, then cosine by epoch
param_scheduler[0].update(start_factor=1e-2, end=2)
param_scheduler[1].update(T_max=max_epochs - 2, begin=2, end=max_epochs)
param_scheduler[1].pop('convert_to_iter_based')
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(interval=25, max_keep_ckpts=2))
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=64)
