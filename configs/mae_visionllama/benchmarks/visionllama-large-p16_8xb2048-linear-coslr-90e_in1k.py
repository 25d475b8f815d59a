# Linear probing of the MAE-pretrained VisionLLaMA-L on ImageNet-1k, 90 epochs (paper:
# 77.3 after the 800e MAE run). mmpretrain's MAE ViT-L linear-probing recipe (frozen
# trunk, ClsBatchNormNeck, LARS lr 6.4, batch 8 x 2048, AMP) with the pooling of the B
# config (final_norm=False as the release,
# mmpretrain/configs/mae/benchmarks/lama-large-p16_8xb2048-linear-coslr-800-90e_in1k.py).
_base_ = ['mmpretrain::mae/benchmarks/vit-large-p16_8xb2048-linear-coslr-90e_in1k.py',
          '../../_base_/reliable_runtime.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch='l-mae',
        img_size=224,
        patch_size=16,
        frozen_stages=24,
        with_cls_token=False,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=1024),
    head=dict(in_channels=1024))
