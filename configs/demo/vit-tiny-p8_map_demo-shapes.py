# A tiny ViT-G-style classifier on the bundled demo shapes (data/demo/imagenet, 3
# classes, 32x32). The ViT-G/14 fine-tuning config (configs/vitg/) is inherited: ViTG
# (no class token, learned position embedding, MAP head), a zero-initialised linear
# classifier, FactoredAdamW (bf16 first moment, factored second moment), decoupled head /
# body weight decay, gradient clipping and the warmup -> 1/sqrt -> cooldown schedule. The
# demo's: a 64-wide, 4-block arch on 32 px in patches of 8 (4x4 tokens: a learned
# position embedding learns these shapes much faster on few tokens), from scratch, the
# data, cross-entropy without Mixup / CutMix, fp32, lr / weight decay and 40 epochs.
# On 2 CPU cores, ~4 min (chance 33.3 %; measured accuracies:
# docs/en/user_guides/train_test_benchmark.md):
#   python tools/train.py configs/demo/vit-tiny-p8_map_demo-shapes.py
_base_ = [
    '../vitg/vit-g-p14_ft_8xb64-amp_in1k-224.py', '_base_/datasets/demo-shapes_cls.py'
]

max_epochs = 40
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=256),
        img_size=32,
        patch_size=8,
        drop_path_rate=0.0,
        with_cp=False,
        init_cfg=None),
    head=dict(
        num_classes=len(_base_.classes),
        in_channels=64,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    train_cfg=None)

data_preprocessor = dict(num_classes=len(_base_.classes))
train_pipeline, test_pipeline = _base_.demo_pipelines
train_dataloader = _base_.demo_train_dataloader
val_dataloader = test_dataloader = _base_.demo_val_dataloader
val_evaluator = test_evaluator = dict(topk=(1, ))

# the fine-tuning optimizer in fp32 (AmpOptimWrapper refuses the CPU)
optim_wrapper = _base_.optim_wrapper
optim_wrapper.pop('dtype')
optim_wrapper.pop('loss_scale')
optim_wrapper.type = 'OptimWrapper'
optim_wrapper.optimizer.update(lr=1e-3, weight_decay=0.05)
optim_wrapper.paramwise_cfg.update(head_weight_decay=1.0, body_weight_decay=0.05)
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(warmup_steps=2, cooldown_steps=8, timescale=10, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(interval=20, max_keep_ckpts=1))
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=64)
