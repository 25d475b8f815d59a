# MAE pretraining of VisionLLaMA-L/16 on ImageNet-1k, 800 epochs: the B config (the
# recipe of mmpretrain's MAE ViT-L is the ViT-B one) with the L encoder, 256 images per
# GPU (2048 in all) at the same lr, as the release.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k.py']

model = dict(backbone=dict(arch='l-mae'), neck=dict(embed_dim=1024))
train_dataloader = dict(batch_size=256)
