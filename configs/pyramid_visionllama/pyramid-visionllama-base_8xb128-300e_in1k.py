# Pyramid VisionLLaMA-B on ImageNet-1k: the S config's recipe (mmpretrain's Twins-SVT
# recipe), arch 'b', drop path 0.3.
_base_ = ['./pyramid-visionllama-small_8xb128-300e_in1k.py']

model = dict(backbone=dict(arch='b', drop_path_rate=0.3), head=dict(in_channels=768))
