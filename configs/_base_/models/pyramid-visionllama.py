# Pyramid VisionLLaMA-S as the release's dense-prediction configs build it (mmseg
# twins_svt_lama_as-s_uperhead, mmdet mask-rcnn_twins_lama_as-s): four NCHW maps, each
# behind a LayerNorm; AS2DRoPE anchored at the 14x14 pretraining grid, scaled as released
# (x and y both by 14 / H); GSA keys and LSA padding as the released code; drop path 0.2.
# The UperNet and Mask R-CNN configs put it into the recipe they inherit (written for
# another backbone, hence `_delete_`) with the ImageNet-1k weights of their size:
#   model = dict(backbone=dict(_base_.pyramid_visionllama, _delete_=True, init_cfg=...))
pyramid_visionllama = dict(
    type='PyramidVisionLLaMA',
    arch='s',
    out_indices=(0, 1, 2, 3),
    out_type='featmap',
    norm_after_stage=True,
    rope_type='as2d',
    gsa_key_coords='official',
    lsa_mask_padding=False,
    as2d_scale='height',
    drop_path_rate=0.2)
