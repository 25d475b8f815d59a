# VisionLLaMA-L/16, stage 2 of 2: fine-tune at 224 px for 20 epochs (AdamW).
# Recipe notes: configs/visionllama/README.md ("Configs").
_base_ = ['./visionllama-base-p16_8xb64-adamw-20e_in1k.py']
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(backbone=dict(arch='l', drop_path_rate=0.45), head=dict(in_channels=1024))
load_from = 'work_dirs/visionllama-large-p16_8xb256-lamb-800e_in1k-128px/epoch_800.pth'
