# The bundled demo shapes for detection (data/demo/coco: COCO on-disk layout, 128x128,
# 80 train2017 / 20 val2017 images; classes circle, square, triangle). Regenerate with
# `make demo-data`.
# A demo inherits its family's release config (COCO data) and lists this file in
# `_base_`; the names here are new to the release (mmengine refuses a key that two bases
# define). The demo builds its dataloaders and evaluators from them (its crop sets the
# pipelines) and shrinks the release's Mask R-CNN to the demo's size:
#   model = dict(_base_.demo_mask_rcnn, backbone=..., neck=...)
#   train_dataloader = dict(
#       _base_.demo_loader, dataset=dict(_base_.demo_dataset, pipeline=...))
#   val_evaluator = test_evaluator = _base_.demo_evaluator
classes = ('circle', 'square', 'triangle')
demo_dataset = dict(data_root='data/demo/coco/', metainfo=dict(classes=classes))
demo_loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
demo_evaluator = dict(ann_file='data/demo/coco/annotations/instances_val2017.json')
# FPN / RoI head channels 64 (mmdet's 256), fewer RPN / RoI samples and proposals
demo_mask_rcnn = dict(
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=len(classes))),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))
