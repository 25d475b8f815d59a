# Attentive probe of the frozen tiny AIM trunk from the AIM pretraining demo, on the
# bundled demo shapes (data/demo/imagenet, 3 classes, 32x32). First run the pretraining
# demo, then the probe (2 CPU cores, a few minutes):
#   python tools/train.py configs/demo/aim-tiny-p4_pretrain_demo-shapes.py
#   python tools/train.py configs/demo/aim-tiny-p4_attentive-probe_demo-shapes.py
# The AIM-600M probe recipe (configs/aim/) is inherited: trunk frozen and in eval mode,
# out_type='avg_layers' (here the mean of blocks 1-3 of the 4), the release's
# AttentionPoolingClassifier (BatchNorm without affine, one learned query per head,
# bias-free k / v, linear classifier). Sizes, data, lr and schedule are the demo's; the
# fp32 OptimWrapper replaces the recipe's bf16 AmpOptimWrapper (which needs a GPU).
_base_ = [
    '../aim/aim-600m-p14_attentive-probe_8xb128_in1k.py',
    '_base_/datasets/demo-shapes_cls.py'
]

img_size, patch_size = 32, 4
checkpoint = 'work_dirs/aim-tiny-p4_pretrain_demo-shapes/weights.pth'
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=64, num_layers=4, num_heads=4),
        img_size=img_size,
        patch_size=patch_size,
        out_indices=[1, 2, 3],
        frozen_stages=4,
        init_cfg=dict(checkpoint=checkpoint)),
    head=dict(num_classes=len(_base_.classes), in_channels=64, num_heads=4, topk=(1, )))

data_preprocessor = dict(num_classes=len(_base_.classes))
train_pipeline, test_pipeline = _base_.demo_pipelines
train_dataloader = dict(_base_.demo_train_dataloader, drop_last=False)
val_dataloader = test_dataloader = _base_.demo_val_dataloader
val_evaluator = test_evaluator = dict(topk=(1, ))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05))
max_epochs, warmup_epochs = 20, 2
param_scheduler = _base_.param_scheduler  # the probe's warmup + cosine, shorter
param_scheduler[0].update(start_factor=1e-2, end=warmup_epochs)
param_scheduler[1].update(
    begin=warmup_epochs, end=max_epochs, T_max=max_epochs - warmup_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(diff_rank_seed=False)
auto_scale_lr = dict(base_batch_size=64)
