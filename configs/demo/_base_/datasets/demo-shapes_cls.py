# The bundled demo shapes for classification (data/demo/imagenet: mmpretrain ImageNet
# on-disk layout, 3 classes, 32x32, 600 training / 100 validation images per class).
# Regenerate with `make demo-data`.
# A demo inherits its family's release config (ImageNet data) and lists this file in
# `_base_`; the names here are new to the release (mmengine refuses a key that two bases
# define), and the demo merges them over the release's data:
#   data_preprocessor = dict(num_classes=len(_base_.classes))
#   train_pipeline, test_pipeline = _base_.demo_pipelines
#   train_dataloader = _base_.demo_train_dataloader
#   val_dataloader = test_dataloader = _base_.demo_val_dataloader
#   val_evaluator = test_evaluator = dict(topk=(1, ))
# The pretraining demos (MAE, AIM) read the same images without labels:
#   train_dataloader = dict(_base_.demo_loader, dataset=dict(data_root=..., ...))
classes = ('circle', 'square', 'triangle')
demo_pipelines = (
    [
        dict(type='LoadImageFromFile'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ],
    [dict(type='LoadImageFromFile'),
     dict(type='PackInputs')],
)
dataset = dict(data_root='data/demo/imagenet', classes=classes)
# num_workers=0 (exact resume); persistent_workers=False explicitly, since
# mmpretrain's own tools/train.py defaults it to True, which needs workers
demo_loader = dict(batch_size=64, num_workers=0, persistent_workers=False)
demo_train_dataloader = dict(
    demo_loader, dataset=dict(dataset, pipeline=demo_pipelines[0]))
demo_val_dataloader = dict(demo_loader, dataset=dict(dataset, pipeline=demo_pipelines[1]))
