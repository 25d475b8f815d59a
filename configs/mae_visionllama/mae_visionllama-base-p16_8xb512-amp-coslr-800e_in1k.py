# MAE pretraining of VisionLLaMA-B on ImageNet-1k, 800 epochs (arXiv 2403.00522, Sec. 4.3:
# FT 84.0 / linear 69.7 / ADE20K UperNet 49.0 mIoU reported for this schedule).
# mmpretrain's MAE ViT-B recipe is inherited unchanged: mask ratio 0.75, decoder 512
# wide / 8 blocks / 16 heads, norm_pix L2 loss, AdamW lr 1.5e-4 * 4096 / 256, betas
# (0.9, 0.95), wd 0.05, 40 warmup epochs + cosine, AMP, 8 x 512 images. Only the encoder changes:
# MAEVisionLLaMA 'b-mae' (LLaMA blocks with 2D RoPE, SwiGLU hidden 8192 with bias, no
# absolute position embedding; the class token stays out of the blocks as in the release).
# SaveWeightsHook writes work_dirs/<this config>/weights.pth (weights only) at the end,
# the file the fine-tuning / linear / UperNet / ViTDet configs load (prefix 'backbone.').
_base_ = ['mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
          '../_base_/reliable_runtime.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='MAEVisionLLaMA', arch='b-mae', img_size=224,
                  patch_size=16, mask_ratio=0.75),
    neck=dict(embed_dim=768))

# the base's collate_fn=dict(type='default_collate') breaks when inherited through
# `mmpretrain::` ("default_collate() got an unexpected keyword argument '_scope_'")
train_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))

custom_hooks = [dict(type='SaveWeightsHook')]
