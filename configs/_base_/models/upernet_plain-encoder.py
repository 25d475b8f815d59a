# UperNet over a plain (one-resolution) encoder of the package: mmseg's MAE UperNet recipe
# is inherited whole (Feature2Pyramid rescales 4/2/1/0.5 -> UPerHead + FCN auxiliary
# head, ADE20K 512x512, AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, 1500 warmup
# iterations + poly, 160k iterations of 8 x 2 images, slide inference), with layer decay
# 0.65 through LayerDecayOptimWrapperConstructor (mmseg's LayerDecayOptimizerConstructor
# only knows BEiT / MAE / ConvNeXt class names; flat_decay_mult=0 keeps 1-D parameters,
# i.e. norms and biases, free of weight decay as mmseg's does) and AMP: mmseg's base asks
# for it only through the legacy `fp16` key, which mmseg 1.x / mmengine ignore.
# A config adds the backbone (`_delete_=True`: the base's is an MAE ViT) and, for widths
# other than 768, the neck / head channels.
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../reliable_runtime.py'
]

model = dict(pretrained=None)  # the base names an MAE ViT file; init_cfg loads ours
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.65, flat_decay_mult=0.0))
