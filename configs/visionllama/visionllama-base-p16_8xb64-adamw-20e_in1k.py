# VisionLLaMA-B/16, stage 2 of 2: fine-tune at 224 px for 20 epochs (AdamW).
# Recipe notes: configs/visionllama/README.md ("Configs").
_base_ = ['./_base_/visionllama-s-p16_in1k.py']

model = dict(
    backbone=dict(arch='b', drop_path_rate=0.2),
    head=dict(
        in_channels=768,
        loss=dict(
            _delete_=True, type='LabelSmoothLoss', label_smooth_val=0.1,
            mode='original')))
# the whole classifier of the 192 px run (your own checkpoint: loaded by the runner)
load_from = 'work_dirs/visionllama-base-p16_8xb256-lamb-800e_in1k-192px/epoch_800.pth'

# the data base's pipeline without its RandomErasing (the release's --reprob 0.0)
train_pipeline = [t for t in _base_.train_pipeline if t['type'] != 'RandomErasing']
train_dataloader = dict(
    batch_size=64, drop_last=True, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=0.1))
param_scheduler = _base_.param_scheduler  # warmup from lr 1e-6, then constant
param_scheduler[0].update(start_factor=1e-6 / 1e-5, end=5)
param_scheduler[1] = dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=5, end=20)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
auto_scale_lr = dict(base_batch_size=512)
