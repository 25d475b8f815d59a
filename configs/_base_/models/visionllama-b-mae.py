# The MAE-pretrained VisionLLaMA-B/16 encoder (configs/mae_visionllama) as the release's
# downstream configs build it: the weights of the MAE run (weights.pth, written by
# SaveWeightsHook), no class token (MAE keeps it out of the blocks), no final norm.
# Fine-tuning, UperNet and ViTDet add `ffn_drop_path=False` (the release's LLaMA MLP has
# no drop path). Configs put it into the recipe they inherit (written for mmpretrain's
# ViT, hence `_delete_`); L: arch 'l-mae' and the L run's weights.pth.
#   model = dict(backbone=dict(_base_.mae_encoder, _delete_=True, out_type=..., ...))
mae_encoder = dict(
    type='VisionLLaMA',
    arch='b-mae',
    img_size=224,
    patch_size=16,
    with_cls_token=False,
    final_norm=False,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k/'
        'weights.pth',
        prefix='backbone.'))
