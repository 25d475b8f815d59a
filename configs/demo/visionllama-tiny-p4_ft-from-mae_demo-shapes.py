# Fine-tune the MAE-pretrained tiny VisionLLaMA on the demo shapes classification task
# (data/demo/imagenet: circle / square / triangle, 32x32). First run the MAE demo, then:
#   python tools/train.py configs/demo/mae_visionllama-tiny-p4_demo-shapes.py
#   python tools/train.py configs/demo/visionllama-tiny-p4_ft-from-mae_demo-shapes.py
# The weights come from the MAE run's weights.pth (SaveWeightsHook) through the backbone's
# init_cfg (prefix 'backbone.'). As the full MAE fine-tuning configs: no class token
# (the MAE encoder keeps it out of the blocks), average pooling + LN, layer-wise LR decay
# through LayerDecayOptimWrapperConstructor. Data, head and runtime come from the
# supervised demo. The same run from a random init, for comparison:
#   python tools/train.py configs/demo/visionllama-tiny-p4_ft-from-mae_demo-shapes.py \
#       --work-dir work_dirs/visionllama-tiny-p4_ft-scratch_demo-shapes \
#       --cfg-options model.backbone.init_cfg=None
_base_ = ['./visionllama-tiny-p4_1xb64-50e_demo-shapes.py']

checkpoint = 'work_dirs/mae_visionllama-tiny-p4_demo-shapes/weights.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        # the MAE demo's encoder (configs/demo/mae_visionllama-tiny-p4_demo-shapes.py)
        arch=dict(
            embed_dims=64,
            num_layers=4,
            num_heads=4,
            feedforward_channels=192,
            ffn_bias=True),
        img_size=32,
        patch_size=4,
        with_cls_token=False,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.05,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))

max_epochs = 20
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.75, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 2,
        eta_min=1e-5,
        by_epoch=True,
        begin=2,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
