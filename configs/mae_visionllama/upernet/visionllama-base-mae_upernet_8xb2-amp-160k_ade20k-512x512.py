# UperNet + MAE-pretrained VisionLLaMA-B, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    '../../_base_/models/upernet_plain-encoder.py',
    '../../_base_/models/visionllama-b-mae.py'
]

model = dict(
    backbone=dict(
        _base_.mae_encoder,
        _delete_=True,
        img_size=512,
        out_indices=[3, 5, 7, 11],
        out_type='featmap',
        rope_type='2d',
        drop_path_rate=0.1,
        ffn_drop_path=False))
