# ViTDet Mask R-CNN with ViT-G/14 on COCO (no number in the paper: an untuned transfer
# recipe). The ViTDet recipe of configs/mae_visionllama/vitdet/ (mmdet's Mask R-CNN,
# LSJ at 1024, SimpleFeaturePyramid + mmpretrain's LN2d, RPN with 2 convs, Shared4Conv1FC
# box head, AdamW lr 1e-4 wd 0.1, the release's ViTDet-B schedule: 137,250 iterations of
# 8 x 4 images, 2 per update, ~37 epochs) is inherited; the backbone becomes ViT-G:
# - global attention in every block (ViTG has no window attention), activation
#   checkpointing and bf16 autocast to fit 74x74 = 5476 tokens of the 1024 input
#   (zero-padded from 1024 to 1036 = 74 x 14);
# - the last block's map resized to stride 16 (featmap_stride=16 -> 64x64) so the neck
#   gives mmdet's strides 4/8/16/32(/64);
# - position embedding of the 224 px model resized bicubically on the fly;
# - layer decay 0.9 over 48 blocks, drop path 0.4.
_base_ = ['../mae_visionllama/vitdet/mask-rcnn_visionllama-l-mae_simplefpn_lsj-36e_coco.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'checkpoints/vit-g-p14_timm2mm.pth'
width = 1664
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTG',
        arch='G',
        img_size=224,
        patch_size=14,
        out_indices=(47, ),
        out_type='featmap',
        featmap_stride=16,
        final_norm=False,
        drop_path_rate=0.4,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        backbone_channel=width,
        in_channels=[width // 4, width // 2, width, width],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg))

optim_wrapper = dict(
    dtype='bfloat16',
    loss_scale=1.0,
    paramwise_cfg=dict(layer_decay_rate=0.9, flat_decay_mult=0.0))
