# Pyramid VisionLLaMA-B on ImageNet-1k, 300 epochs, corrected GSA keys.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./pyramid-visionllama-base_8xb128-300e_in1k.py']

model = dict(backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True))
