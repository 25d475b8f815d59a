# The bundled demo shapes for segmentation (data/demo/ade: ADE20K on-disk layout,
# images/*.jpg + annotations/*.png, 128x128; classes background, circle, square,
# triangle). Regenerate with `make demo-data`.
# Only names the demos' parents do not define (mmengine refuses a key defined by two
# bases of one config), so it combines with mmseg's ade20k.py or a full recipe; the
# demos build their pipelines (their crop sizes differ) and dataloaders from `dataset`:
#   dataset=dict(**_base_.dataset, pipeline=train_pipeline)
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
