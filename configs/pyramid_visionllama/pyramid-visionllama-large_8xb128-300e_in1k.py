# Pyramid VisionLLaMA-L on ImageNet-1k: the S config's recipe (mmpretrain's Twins-SVT
# recipe, total batch 1024 as its twins-svt-large_16xb64 config), arch 'l', drop path 0.5.
# With less GPU memory use 16 x 64 (train_dataloader.batch_size=64) for the same recipe.
_base_ = ['./pyramid-visionllama-small_8xb128-300e_in1k.py']

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.5),
    head=dict(in_channels=1024))
