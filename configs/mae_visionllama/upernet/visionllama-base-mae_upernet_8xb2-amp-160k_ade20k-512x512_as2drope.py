# UperNet + MAE-pretrained VisionLLaMA-B, ADE20K 512x512, 160k iterations, AS2DRoPE.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512.py']

model = dict(backbone=dict(rope_type='as2d', rope_anchor=(14, 14)))
