# ViTDet Mask R-CNN + MAE-pretrained VisionLLaMA-B, COCO, LSJ 1024, 36 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    '../../_base_/models/vitdet_mask-rcnn_plain-encoder.py',
    '../../_base_/models/visionllama-b-mae.py'
]

model = dict(
    backbone=dict(
        _base_.mae_encoder,
        _delete_=True,
        img_size=1024,
        out_indices=(11, ),
        out_type='featmap',
        window_size=14,
        window_block_indexes=[0, 1, 3, 4, 6, 7, 9, 10],
        drop_path_rate=0.1,
        ffn_drop_path=False),
    neck=dict(backbone_channel=768, in_channels=[192, 384, 768, 768]))
