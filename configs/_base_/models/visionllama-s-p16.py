# VisionLLaMA-S/16 classifier on ImageNet-1k as the release trains it (deit/models.py,
# deit/main_b.py): class-token output of the plain VisionLLaMA, uniform drop path, a
# linear head on the class token, Mixup 0.8 / CutMix 1.0 (mmpretrain applies one of the
# two to each batch). Sizes B / L: arch 'b' / 'l' with head in_channels 768 / 1024.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionLLaMA',
        arch='s',
        img_size=224,
        patch_size=16,
        with_cls_token=True,
        out_type='cls_token',
        drop_path_rate=0.05,
        drop_path_mode='uniform'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(type='BinarizedTargetBCELoss', loss_weight=1.0)),
    train_cfg=dict(
        augments=[dict(type='Mixup', alpha=0.8),
                  dict(type='CutMix', alpha=1.0)]))
