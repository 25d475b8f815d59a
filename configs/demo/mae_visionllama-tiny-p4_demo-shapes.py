# MAE pretraining of a tiny VisionLLaMA on the bundled demo shapes (data/demo/imagenet,
# 32x32, 1800 training images; labels unused). Runs on 2 CPU cores in a few minutes:
#   python tools/train.py configs/demo/mae_visionllama-tiny-p4_demo-shapes.py
# and writes work_dirs/mae_visionllama-tiny-p4_demo-shapes/weights.pth (SaveWeightsHook:
# weights only), which the fine-tuning, UperNet and Mask R-CNN demos load through
# init_cfg=dict(type='Pretrained', prefix='backbone.').
# The release's MAE pretraining config (configs/mae_visionllama/, mmpretrain's MAE ViT-B
# recipe) is inherited: MAEVisionLLaMA encoder, mask 0.75, norm_pix L2 loss, AdamW betas
# 0.9/0.95, wd 0.05, warmup + cosine, SaveWeightsHook. The demo's: the tiny encoder on
# 32 px in patches of 4, a 2-block decoder, the data, lr, fp32 and 60 epochs.
_base_ = [
    '../mae_visionllama/mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k.py',
    '_base_/models/visionllama-tiny-mae.py', '_base_/datasets/demo-shapes_cls.py',
    '../_base_/no_weight_decay.py'
]

img_size, patch_size = 32, 4
num_patches = (img_size // patch_size)**2
model = dict(
    backbone=dict(
        arch=dict(_base_.tiny_mae_arch, _delete_=True),
        img_size=img_size,
        patch_size=patch_size),
    neck=dict(
        num_patches=num_patches,
        patch_size=patch_size,
        embed_dim=64,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=4),
    head=dict(patch_size=patch_size))

# the release's augmentation, crops of 50-100 % of the image
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(scale=img_size, crop_ratio_range=(0.5, 1.0))
train_dataloader = dict(
    _base_.demo_loader,
    dataset=dict(data_root=_base_.dataset.data_root, pipeline=train_pipeline))

max_epochs = 60
# plain OptimWrapper: the base's AmpOptimWrapper refuses the CPU
optim_wrapper = dict(
    type='OptimWrapper',
    _delete_=True,
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            **_base_.no_weight_decay.norms,
            **_base_.no_weight_decay.cls_token,
            **_base_.no_weight_decay.mask_token,
            'bias': dict(decay_mult=0.0),
        }))
param_scheduler = _base_.param_scheduler  # linear warmup, cosine (per iteration)
param_scheduler[0].update(start_factor=1e-3, end=5)
param_scheduler[1].update(T_max=max_epochs - 5, eta_min=1e-5, begin=5, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1))
resume = False  # the base sets resume=True (auto resume)
auto_scale_lr = dict(base_batch_size=64)
