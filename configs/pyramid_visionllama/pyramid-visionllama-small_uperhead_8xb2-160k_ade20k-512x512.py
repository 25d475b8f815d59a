# UperNet + Pyramid VisionLLaMA-S on ADE20K, 512x512, 160k iterations: mmseg's own
# Twins-SVT-S UperNet config (inherited: dataset, AdamW 6e-5 wd 0.01, 1500 warmup
# iterations + poly, batch 8 x 2, whole-image inference) with the backbone replaced.
# The release's seg setting: a LayerNorm after every stage and AS2DRoPE in GSA.
#
# Pretrained weights: convert the release's ImageNet checkpoint first,
#   python tools/model_converters/visionllama2mm.py pyramid_s_in1k.pth \
#       work_dirs/pretrained/pyramid-visionllama-s_in1k.pth
# (or train configs/pyramid_visionllama/pyramid-visionllama-small_8xb128-300e_in1k.py
# and use its checkpoint). To run converted release weights exactly as trained, add
# gsa_key_coords='official', lsa_mask_padding=False to the backbone.
#
# Sliding-window inference (crop 512, stride 341) instead of whole-image:
#   python tools/test.py CONFIG CKPT --cfg-options model.test_cfg.mode=slide \
#       "model.test_cfg.crop_size=(512,512)" "model.test_cfg.stride=(341,341)"
_base_ = ['mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/pretrained/pyramid-visionllama-s_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,  # the base's SVT dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        norm_after_stage=True,
        rope_type='as2d',  # AS2DRoPE anchored at the 14x14 pretraining grid
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))

# The base exempts parameters whose name contains 'norm' from weight decay (Twins'
# norm1/norm2, patch-embedding and stage norms); the LLaMA blocks call their norms
# ln1/ln2 and carry layer-scale gammas: exempt those as well.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '.ln1': dict(decay_mult=0.),
        '.ln2': dict(decay_mult=0.),
        '.gamma': dict(decay_mult=0.),
    }))
