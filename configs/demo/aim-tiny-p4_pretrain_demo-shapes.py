# AIM autoregressive pretraining of a tiny trunk on the bundled demo shapes
# (data/demo/imagenet, 32x32, 1800 training images; labels unused). On 2 CPU cores:
#   python tools/train.py configs/demo/aim-tiny-p4_pretrain_demo-shapes.py
# The full AIM-600M recipe (configs/aim/) is inherited: prefix-causal trunk with a
# prefix length uniform in [1, N - 1] per sample, residual-MLP pixel head predicting the
# next patch, per-patch normalised MSE on non-prefix targets, AdamW betas (0.9, 0.95),
# wd 0.05, warmup + cosine. Sizes (patch 4: 8x8 = 64 patches), data, learning rate,
# schedule and the fp32 OptimWrapper (AmpOptimWrapper refuses the CPU) are the demo's.
# Writes work_dirs/<config>/weights.pth (SaveWeightsHook).
_base_ = [
    '../aim/aim-600m-p14_8xb512-amp-cosine-800e_in1k.py',
    '_base_/datasets/demo-shapes_cls.py'
]

img_size, patch_size = 32, 4
arch = dict(_delete_=True, embed_dims=64, num_layers=4, num_heads=4)
model = dict(
    backbone=dict(arch=arch, img_size=img_size, patch_size=patch_size),
    head=dict(in_channels=64, embed_dims=96, num_blocks=2, patch_size=patch_size),
    prefix_range=(1, (img_size // patch_size)**2 - 1))

# the release's augmentation without colour jitter, crops of 50-100 % of the image
train_pipeline = [t for t in _base_.train_pipeline if t['type'] != 'RandomApply']
train_pipeline[1].update(scale=img_size, crop_ratio_range=(0.5, 1.0))
train_dataloader = dict(
    _base_.demo_loader,
    dataset=dict(data_root=_base_.dataset.data_root, pipeline=train_pipeline))

max_epochs, warmup_epochs = 6, 1
# the release's optimizer in fp32 (AmpOptimWrapper refuses the CPU), lr 2e-3
optim_wrapper = _base_.optim_wrapper
optim_wrapper.pop('dtype')
optim_wrapper.type = 'OptimWrapper'
optim_wrapper.optimizer.lr = 2e-3
param_scheduler = _base_.param_scheduler  # warmup + cosine, to 1e-5
param_scheduler[0]['end'] = warmup_epochs
param_scheduler[1].update(
    T_max=max_epochs - warmup_epochs, eta_min=1e-5, begin=warmup_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=14),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
resume = False
auto_scale_lr = dict(base_batch_size=64)
