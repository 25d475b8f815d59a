# ViTDet Mask R-CNN + MAE-pretrained VisionLLaMA-L, COCO, LSJ 1024, 36 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        arch='l-mae',
        out_indices=(23, ),
        window_block_indexes=[i for i in range(24) if i not in (5, 11, 17, 23)],
        drop_path_rate=0.4,
        init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(backbone_channel=1024, in_channels=[256, 512, 1024, 1024]))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
