# UperNet + Pyramid VisionLLaMA-S, ADE20K 160k: mmseg's Twins-SVT-S recipe.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = [
    'mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py',
    '../_base_/models/pyramid-visionllama.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]

checkpoint = 'visionllama://pyramid-visionllama-s_in1k'
model = dict(
    backbone=dict(
        _base_.pyramid_visionllama,
        _delete_=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

# The base exempts parameters whose name contains 'norm' from weight decay (the
# release's norm1/norm2, GSA's sr norm, patch-embedding and stage norms); our blocks call
# norm1/norm2 ln1/ln2: exempt those too. The layer-scale gammas (release: gamma_1 /
# gamma_2) and biases are decayed, as in the release.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.norms}))
