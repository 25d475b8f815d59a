# Linear probe of the MAE-pretrained VisionLLaMA-B on ImageNet-1k, 90 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/models/visionllama-b-mae.py', '../../_base_/reliable_runtime.py'
]

model = dict(
    backbone=dict(
        _base_.mae_encoder, _delete_=True, frozen_stages=12, out_type='avg_featmap'))
