# UperNet + MAE-pretrained plain VisionLLaMA-L on ADE20K, 512x512, 160k iterations: the B
# config with arch 'l-mae', blocks 7/11/15/23 and 1024-channel neck and heads (as mmseg's
# BEiT-L UperNet). Recipe otherwise as the B config (layer decay 0.65, lr 1e-4, AMP),
# except, as the release (mmseg/configs/mae/lama-large_upernet_8xb2-800-amp-160k_ade20k-
# 512x512.py), 1 image per GPU with 2 accumulation steps: 8 x 1 x 2 = 16 per update and
# 160k iterations = 80k updates. The sibling *_as2drope.py uses AS2DRoPE.
_base_ = ['./visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        arch='l-mae',
        out_indices=[7, 11, 15, 23],
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(accumulative_counts=2)
