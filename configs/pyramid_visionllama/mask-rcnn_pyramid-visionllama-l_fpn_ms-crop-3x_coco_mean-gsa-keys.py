# Sibling of mask-rcnn_pyramid-visionllama-l_fpn_ms-crop-3x_coco.py
# (release-named) with the corrected Pyramid VisionLLaMA
# attention: GSA key coordinates at the true mean of each sr x sr cell and padded LSA
# window positions masked out of the keys. Released checkpoints give other outputs
# under these backbone settings.
_base_ = ['./mask-rcnn_pyramid-visionllama-l_fpn_ms-crop-3x_coco.py']

model = dict(backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True))
