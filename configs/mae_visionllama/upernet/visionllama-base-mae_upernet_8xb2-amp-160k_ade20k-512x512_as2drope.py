# Sibling of visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512.py
# (the release recipe) with AS2DRoPE:
# RoPE positions anchored at the 14x14 grid of the 224 px pretraining, so the 32x32 grid
# of a 512 crop maps onto the coordinate range seen in pretraining instead of
# extrapolating to 0..31 as the release does. Nothing is interpolated; same weights.
_base_ = ['./visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512.py']

model = dict(backbone=dict(rope_type='as2d', rope_anchor=(14, 14)))
