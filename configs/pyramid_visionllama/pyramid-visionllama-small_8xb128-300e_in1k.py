# Pyramid VisionLLaMA-S on ImageNet-1k, the release recipe (deit/train_p_300.sh through
# deit/main.py's defaults) on mmpretrain's own Twins-SVT config (inherited, not copied,
# it is the same DeiT recipe): 224 px, batch 8 x 128 = 1024, AdamW lr 1e-3
# (5e-4 x 1024 / 512), wd 0.05, 5 warmup epochs + cosine to 1e-5 over 300 epochs, no
# gradient clipping (main.py's --clip-grad default None; mmpretrain's Twins config
# clips at 5), RandAugment / random erasing 0.25 / Mixup 0.8 / CutMix 1.0 / label
# smoothing 0.1, no repeated augmentation, eval resize 256 + centre crop 224. Drop path
# 0.2 / 0.3 / 0.5 for S / B / L as the release. GSA keys and LSA padding as the released
# code (gsa_key_coords='official', lsa_mask_padding=False); the sibling
# *_mean-gsa-keys.py uses the corrected key coordinates instead.
_base_ = ['mmpretrain::twins/twins-svt-small_8xb128_in1k.py',
          '../_base_/reliable_runtime.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,  # the base's SVT dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(3, ),
        out_type='avg_featmap',  # norm -> mean -> norm, (B, C): no neck
        rope_type='2d',
        gsa_key_coords='official',
        lsa_mask_padding=False,
        drop_path_rate=0.2),
    neck=None,  # the base's GlobalAveragePooling wants NCHW maps
    head=dict(in_channels=512))

# mmpretrain's twins base spells `_delete=True` (no trailing underscore), which is merged
# as a plain key; delete properly and keep its intent: no weight decay on norms, biases
# and other 1-D parameters (here also the layer-scale gammas), as Twins / timm.
optim_wrapper = dict(
    clip_grad=None,  # the release does not clip
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
