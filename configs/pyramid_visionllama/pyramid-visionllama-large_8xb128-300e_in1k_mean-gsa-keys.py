# Sibling of pyramid-visionllama-large_8xb128-300e_in1k.py
# (the release recipe) with two corrections of the released
# Pyramid VisionLLaMA code: GSA key coordinates at the true mean of each sr x sr cell
# (the release lays the reduced grid out with the full-resolution row stride) and
# padded LSA window positions masked out of the keys. The parameters are those of the
# release's model, but released checkpoints give other outputs under these settings.
_base_ = ['./pyramid-visionllama-large_8xb128-300e_in1k.py']

model = dict(backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True))
