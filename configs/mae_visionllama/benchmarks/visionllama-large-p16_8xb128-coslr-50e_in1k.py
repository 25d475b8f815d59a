# Fine-tuning of the MAE-pretrained VisionLLaMA-L on ImageNet-1k, 50 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::mae/benchmarks/vit-large-p16_8xb128-coslr-50e_in1k.py',
    '../../_base_/reliable_runtime.py'
]
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
