# Fine-tune the MAE-pretrained VisionLLaMA-L on ImageNet-1k for 50 epochs (paper: 85.5
# after the 800e MAE run). mmpretrain's MAE ViT-L fine-tuning recipe is inherited: AdamW
# lr 4e-3, drop path 0.2, 5 warmup epochs + cosine, RandAugment / random erasing / Mixup /
# CutMix / label smoothing as for B. As the release
# (mmpretrain/configs/mae/benchmarks/lama-large-p16_8xb128-coslr-800-lrd45-50e_in1k.py):
# layer decay 0.45 (mmpretrain: 0.75), 64 images per GPU with 2 accumulation steps
# (8 x 64 x 2 = 1024 per update, as mmpretrain's 8 x 128), drop path on the attention
# branch only. The release trains with --amp.
# Backbone, pooling and layer-decay constructor as the B config.
_base_ = ['mmpretrain::mae/benchmarks/vit-large-p16_8xb128-coslr-50e_in1k.py',
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
        with_cls_token=False,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.2,
        ffn_drop_path=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    accumulative_counts=2,
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.45))
