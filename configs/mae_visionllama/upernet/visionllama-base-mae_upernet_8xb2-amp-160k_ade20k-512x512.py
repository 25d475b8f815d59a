# UperNet + MAE-pretrained VisionLLaMA-B, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/reliable_runtime.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    pretrained=None,  # the base names an MAE ViT file here; ours is in init_cfg
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch='b-mae',
        img_size=512,
        patch_size=16,
        out_indices=[3, 5, 7, 11],
        with_cls_token=False,
        out_type='featmap',
        final_norm=False,
        rope_type='2d',
        drop_path_rate=0.1,
        ffn_drop_path=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))

# mmseg's base asks for AMP only through the legacy `fp16` key, which mmseg 1.x / mmengine
# ignore; AmpOptimWrapper makes the config's "amp" true (GPU only). Layer decay through
# LayerDecayOptimWrapperConstructor (mmseg's LayerDecayOptimizerConstructor only knows
# BEiT / MAE / ConvNeXt class names); flat_decay_mult=0 keeps 1-D parameters (norms,
# biases) free of weight decay as mmseg's constructor does.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.65, flat_decay_mult=0.0))
