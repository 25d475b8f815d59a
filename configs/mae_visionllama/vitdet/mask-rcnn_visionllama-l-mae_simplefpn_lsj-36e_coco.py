# ViTDet Mask R-CNN with the MAE-pretrained plain VisionLLaMA-L on COCO, LSJ 1024, 36
# epochs: the B config with arch 'l-mae' and ViTDet-L's settings (global blocks
# 5/11/17/23, the others 14x14 windows; drop path 0.4; layer decay 0.8; SimpleFeaturePyramid from the
# 1024-channel map of the last block).
_base_ = ['./mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        arch='l-mae',
        out_indices=(23, ),
        window_block_indexes=[i for i in range(24) if i not in (5, 11, 17, 23)],
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(backbone_channel=1024, in_channels=[256, 512, 1024, 1024]))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
