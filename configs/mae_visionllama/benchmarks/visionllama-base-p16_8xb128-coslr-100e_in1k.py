# Fine-tuning of the MAE-pretrained VisionLLaMA-B on ImageNet-1k, 100 epochs.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../../_base_/models/visionllama-b-mae.py', '../../_base_/reliable_runtime.py'
]

model = dict(
    backbone=dict(
        _base_.mae_encoder,
        _delete_=True,
        out_type='avg_featmap',
        drop_path_rate=0.1,
        ffn_drop_path=False))
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.45))
