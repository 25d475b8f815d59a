# Fine-tune the MAE-pretrained VisionLLaMA-L on ImageNet-1k for 50 epochs (paper: 85.5
# after the 800e MAE run). mmpretrain's MAE ViT-L fine-tuning recipe is inherited: AdamW
# lr 4e-3 (batch 8 x 128), layer decay 0.75, drop path 0.2, 5 warmup epochs + cosine,
# RandAugment / random erasing / Mixup / CutMix / label smoothing as for B.
# Backbone, pooling and layer-decay constructor as the B config.
_base_ = ['mmpretrain::mae/benchmarks/vit-large-p16_8xb128-coslr-50e_in1k.py']
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch='l-mae',
        img_size=224,
        patch_size=16,
        with_cls_token=False,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))

optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
