# VisionLLaMA-B: fine-tune the 192 px model at 224 px for 20 epochs (release recipe:
# AdamW lr 1e-5, wd 0.1, label smoothing 0.1, RandAugment m9-mstd0.5, random erasing
# 0.25, Mixup/CutMix, batch 8 x 64). RoPE needs no position-embedding resize.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_deit3_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs4096_AdamW.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionLLaMA', arch='b', img_size=224, patch_size=16,
                  with_cls_token=True, out_type='cls_token', drop_path_rate=0.2,
                  drop_path_mode='uniform'),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=768,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                        mode='original')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8),
                             dict(type='CutMix', alpha=1.0)]))
# the whole classifier of the 192 px run (your own checkpoint: loaded by the runner)
load_from = 'work_dirs/visionllama-base-p16_8xb256-lamb-800e_in1k-192px/epoch_800.pth'

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-5, weight_decay=0.1),
    paramwise_cfg=dict(_delete_=True, flat_decay_mult=0.0,
                       custom_keys={'.cls_token': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=1e-6, by_epoch=True, begin=5,
         end=20, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
auto_scale_lr = dict(base_batch_size=512)
