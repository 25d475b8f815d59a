# Pyramid VisionLLaMA-S on ImageNet-1k, 300 epochs.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::twins/twins-svt-small_8xb128_in1k.py', '../_base_/reliable_runtime.py'
]

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
# the release drops the last incomplete batch (deit/main.py: drop_last=True)
train_dataloader = dict(drop_last=True)

# mmpretrain's twins base spells `_delete=True` (no trailing underscore), which is merged
# as a plain key; delete properly and keep its intent: no weight decay on norms, biases
# and other 1-D parameters (here also the layer-scale gammas), as Twins / timm.
optim_wrapper = dict(
    clip_grad=None,  # the release does not clip
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
