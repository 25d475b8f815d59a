# Linear probing of the MAE-pretrained VisionLLaMA-B on ImageNet-1k, 90 epochs (paper:
# 69.7 after the 800e MAE run, 71.7 after 1600e). mmpretrain's MAE linear-probing recipe
# is inherited: frozen trunk, BatchNorm without affine before the linear head
# (ClsBatchNormNeck), LARS lr 6.4 (batch 8 x 2048), 10 warmup epochs + cosine, AMP.
# The MAE encoder keeps its class token out of the blocks (it is never trained as a
# summary token), so the probe reads the average of the patch tokens. As the release
# (mmpretrain/configs/mae/benchmarks/lama-base-p16_8xb2048-linear-coslr-800-90e_in1k.py):
# no final norm on the tokens (final_norm=False), then the mean and the pooled LN (unit
# weight, frozen with the trunk): with_cls_token=False, out_type='avg_featmap'.
_base_ = ['mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
          '../../_base_/reliable_runtime.py']
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
