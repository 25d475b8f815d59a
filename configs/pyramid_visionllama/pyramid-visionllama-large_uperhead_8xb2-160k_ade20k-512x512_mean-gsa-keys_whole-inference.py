# Sibling of pyramid-visionllama-large_uperhead_8xb2-160k_ade20k-512x512.py
# (the release recipe) with the corrected Pyramid
# VisionLLaMA attention (GSA key coordinates at the true mean of each sr x sr cell,
# padded LSA window positions masked out of the keys) and whole-image inference instead
# of the release's sliding window (crop 512, stride 341): one forward per image, faster.
# Released checkpoints give other outputs under these backbone settings.
_base_ = ['./pyramid-visionllama-large_uperhead_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True),
    test_cfg=dict(_delete_=True, mode='whole'))
