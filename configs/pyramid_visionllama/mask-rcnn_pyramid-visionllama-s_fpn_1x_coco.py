# Mask R-CNN + FPN + Pyramid VisionLLaMA-S on COCO, 1x (12 epochs, single scale
# 1333x800): mmdet's own Mask R-CNN 1x config with AdamW (its Swin-T config: AdamW lr
# 1e-4, wd 0.05, no decay on norms, 1000 warmup iterations, steps at 8 and 11, batch
# 8 x 2) with the backbone replaced. The release's det setting
# (mmdetection/configs/twins/mask-rcnn_twins-b-p4-w7_fpn_ms-crop-3x_coco.py, the only
# pyramid detection config of the release): a LayerNorm after every stage, AS2DRoPE in
# GSA (auto_scale=True), drop path 0.2, GSA keys / LSA padding as the released code, no
# weight-decay exemption beyond names containing 'norm' (layer-scale gammas and biases
# are decayed), trained with --amp. The sibling *_mean-gsa-keys.py uses the corrected
# GSA keys and masked LSA padding.
#
# Pretrained weights: convert the release's ImageNet checkpoint first,
#   python tools/model_converters/visionllama2mm.py pyramid_s_in1k.pth \
#       work_dirs/pretrained/pyramid-visionllama-s_in1k.pth
# (or train configs/pyramid_visionllama/pyramid-visionllama-small_8xb128-300e_in1k.py
# and use its checkpoint). To run converted release weights exactly as trained, add
# gsa_key_coords='official', lsa_mask_padding=False to the backbone.
_base_ = ['mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
          '../_base_/reliable_runtime.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/pretrained/pyramid-visionllama-s_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,  # the base's Swin dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        norm_after_stage=True,
        rope_type='as2d',  # AS2DRoPE anchored at the 14x14 pretraining grid
        gsa_key_coords='official',  # GSA keys / LSA padding as the released code
        lsa_mask_padding=False,
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))

# The base exempts names containing 'norm' from weight decay; our blocks call the
# release's norm1/norm2 ln1/ln2: exempt those as well.
optim_wrapper = dict(
    optimizer=dict(lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        '.ln1': dict(decay_mult=0.),
        '.ln2': dict(decay_mult=0.),
    }))
