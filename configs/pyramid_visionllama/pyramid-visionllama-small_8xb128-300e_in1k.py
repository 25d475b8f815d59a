# Pyramid VisionLLaMA-S on ImageNet-1k, the Twins-SVT recipe as mmpretrain's own
# twins config (inherited, not copied): 224 px, batch 8 x 128 = 1024, AdamW lr 1e-3
# (5e-4 x 1024 / 512), wd 0.05, 5 warmup epochs + cosine to 1e-5 over 300 epochs,
# grad clip 5, RandAugment / random erasing / Mixup 0.8 / CutMix 1.0 / label smoothing
# 0.1. Drop path 0.2 / 0.3 / 0.5 for S / B / L as the release.
_base_ = ['mmpretrain::twins/twins-svt-small_8xb128_in1k.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,  # the base's SVT dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(3, ),
        out_type='avg_featmap',  # norm -> mean -> norm, (B, C): no neck
        rope_type='2d',
        drop_path_rate=0.2),
    neck=None,  # the base's GlobalAveragePooling wants NCHW maps
    head=dict(in_channels=512))

# mmpretrain's twins base spells `_delete=True` (no trailing underscore), which is merged
# as a plain key; delete properly and keep its intent: no weight decay on norms, biases
# and other 1-D parameters (here also the layer-scale gammas), as Twins / timm.
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
