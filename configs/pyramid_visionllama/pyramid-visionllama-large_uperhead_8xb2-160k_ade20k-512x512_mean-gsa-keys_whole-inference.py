# UperNet + Pyramid VisionLLaMA-L, ADE20K 160k, corrected GSA keys, whole-image test.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./pyramid-visionllama-large_uperhead_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True, as2d_scale='per_axis'),
    test_cfg=dict(_delete_=True, mode='whole'))
