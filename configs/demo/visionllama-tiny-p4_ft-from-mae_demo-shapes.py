# Fine-tune the MAE-pretrained tiny VisionLLaMA on the demo shapes classification task
# (data/demo/imagenet: circle / square / triangle, 32x32). First run the MAE demo, then:
#   python tools/train.py configs/demo/mae_visionllama-tiny-p4_demo-shapes.py
#   python tools/train.py configs/demo/visionllama-tiny-p4_ft-from-mae_demo-shapes.py
# The release's MAE fine-tuning config (configs/mae_visionllama/benchmarks/, mmpretrain's
# MAE ViT recipe) is inherited: no class token (the MAE encoder keeps it out of the
# blocks), average pooling without the final norm, drop path in the attention branch
# only, layer-wise lr decay through LayerDecayOptimWrapperConstructor, weights from the
# MAE run's weights.pth (init_cfg, prefix 'backbone.'). The demo's: the tiny encoder at
# 32 px, the data, cross-entropy without Mixup / CutMix, lr, layer decay 0.75 and 20
# epochs. The same
# run from a random init, for comparison:
#   python tools/train.py configs/demo/visionllama-tiny-p4_ft-from-mae_demo-shapes.py \
#       --work-dir work_dirs/visionllama-tiny-p4_ft-scratch_demo-shapes \
#       --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../mae_visionllama/benchmarks/visionllama-base-p16_8xb128-coslr-100e_in1k.py',
    '_base_/models/visionllama-tiny-mae.py', '_base_/datasets/demo-shapes_cls.py'
]

max_epochs = 20
model = dict(
    backbone=dict(
        arch=dict(_base_.tiny_mae_arch, _delete_=True),
        img_size=32,
        patch_size=4,
        drop_path_rate=0.05,
        init_cfg=dict(checkpoint=_base_.tiny_mae_weights)),
    head=dict(
        num_classes=len(_base_.classes),
        in_channels=64,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    train_cfg=None)

data_preprocessor = dict(num_classes=len(_base_.classes))
train_pipeline, test_pipeline = _base_.demo_pipelines
train_dataloader = _base_.demo_train_dataloader
val_dataloader = test_dataloader = _base_.demo_val_dataloader
val_evaluator = test_evaluator = dict(topk=(1, ))

optim_wrapper = dict(
    optimizer=dict(lr=2e-3),
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.75, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=5.0))
param_scheduler = _base_.param_scheduler  # linear warmup, cosine (per iteration)
param_scheduler[0].update(start_factor=1e-2, end=2)
param_scheduler[1].update(T_max=max_epochs - 2, eta_min=1e-5, begin=2, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=29),
    checkpoint=dict(interval=10, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
