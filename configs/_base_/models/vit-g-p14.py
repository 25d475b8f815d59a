# ViT-G/14 ("Scaling Vision Transformers": 1664 wide, 48 blocks, 16 heads, patch 14,
# 224 px) with the weights of a timm / big_vision checkpoint converted by
# tools/model_converters/timm_vit2mm.py (configs/vitg/README.md "How to get the weights"),
# the backbone of every ViT-G config.
#   model = dict(backbone=dict(_base_.vit_g, out_type=..., ...))
vit_g = dict(
    type='ViTG',
    arch='G',
    img_size=224,
    patch_size=14,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/vit-g-p14_timm2mm.pth',
        prefix='backbone.'))
