# Linear probe of the MAE-pretrained VisionLLaMA-B on ImageNet-1k, 90 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/reliable_runtime.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch='b-mae',
        img_size=224,
        patch_size=16,
        frozen_stages=12,
        with_cls_token=False,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=768),
    head=dict(in_channels=768))
