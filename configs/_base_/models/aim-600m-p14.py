# AIM-600M (apple/ml-aim aim_600M: 1536 wide, 24 blocks, 12 heads, patch 14, 224 px),
# the trunk of every AIM config: pretraining puts it into AIMPretrain, the attentive probe
# and UperNet load the pretraining run's weights into it (init_cfg).
#   model = dict(backbone=dict(_base_.aim_600m, out_type=..., ...))
aim_600m = dict(type='AIM', arch='600m', img_size=224, patch_size=14)
