# UperNet + Pyramid VisionLLaMA-S, ADE20K 160k.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = [
    'mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py',
    '../_base_/reliable_runtime.py', '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'visionllama://pyramid-visionllama-s_in1k'
model = dict(
    backbone=dict(
        _delete_=True,  # the base's SVT dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        norm_after_stage=True,
        rope_type='as2d',  # AS2DRoPE anchored at the 14x14 pretraining grid
        gsa_key_coords='official',
        lsa_mask_padding=False,
        as2d_scale='height',  # AS2DRoPE as released: x and y both by 14 / H
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

# The base exempts parameters whose name contains 'norm' from weight decay (the
# release's norm1/norm2, GSA's sr norm, patch-embedding and stage norms); our blocks call
# norm1/norm2 ln1/ln2: exempt those too. The layer-scale gammas (release: gamma_1 /
# gamma_2) and biases are decayed, as in the release.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.norms}))
