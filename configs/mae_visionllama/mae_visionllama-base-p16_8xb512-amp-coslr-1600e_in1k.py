# MAE pretraining of VisionLLaMA-B on ImageNet-1k, 1600 epochs (paper: FT 84.3 / linear
# 71.7 / ADE20K UperNet 50.2 mIoU). mmpretrain's MAE ViT-B 1600e recipe (mask 0.75,
# decoder 512/8/16, AdamW lr 1.5e-4 * 4096 / 256, betas 0.9/0.95, wd 0.05, 40 warmup
# epochs + cosine, AMP) with the MAEVisionLLaMA 'b-mae' encoder; see the 800e config.
_base_ = ['mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py',
          '../_base_/reliable_runtime.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='MAEVisionLLaMA', arch='b-mae', img_size=224,
                  patch_size=16, mask_ratio=0.75),
    neck=dict(embed_dim=768))

# inherited collate_fn needs resetting (see the 800e config)
train_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))

custom_hooks = [dict(type='SaveWeightsHook')]
