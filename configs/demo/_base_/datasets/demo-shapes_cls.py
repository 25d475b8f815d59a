# The bundled demo shapes for classification (data/demo/imagenet: mmpretrain ImageNet
# on-disk layout, 3 classes, 32x32, 600 training / 100 validation images per class).
# Regenerate with `make demo-data`.
classes = ('circle', 'square', 'triangle')
data_preprocessor = dict(
    num_classes=len(classes),
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
dataset = dict(type='ImageNet', data_root='data/demo/imagenet', classes=classes)
# num_workers=0 (exact resume); persistent_workers=False explicitly, since
# mmpretrain's own tools/train.py defaults it to True, which needs workers
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(**dataset, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(**dataset, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
