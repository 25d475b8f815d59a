# The bundled demo shapes for segmentation (data/demo/ade: ADE20K on-disk layout,
# images/*.jpg + annotations/*.png, 128x128; classes background, circle, square,
# triangle). Regenerate with `make demo-data`.
# A demo inherits its family's release config (ADE20K data) and lists this file in
# `_base_`; the names here are new to the release (mmengine refuses a key that two bases
# define), and the demo builds its dataloaders from them (its crop sets the pipelines):
#   train_dataloader = dict(
#       _base_.demo_loader, batch_size=8, dataset=dict(_base_.dataset, pipeline=...))
# (the release's test pipeline, mmseg's, needs only the crop: test_pipeline[1].scale)
classes = ('background', 'circle', 'square', 'triangle')
palette = [[0, 0, 0], [220, 20, 60], [0, 128, 255], [255, 200, 0]]
# ADE20KDataset refuses class names outside its 150 ADE classes ("new classes ... is
# not a subset of classes ... in METAINFO"), so the same ADE20K layout (0 = unlabelled
# -> 255 by reduce_zero_label) is read by its parent BaseSegDataset with these classes.
dataset = dict(
    type='BaseSegDataset',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    data_root='data/demo/ade',
    metainfo=dict(classes=classes, palette=palette),
    reduce_zero_label=True)
demo_loader = dict(num_workers=0, persistent_workers=False)
