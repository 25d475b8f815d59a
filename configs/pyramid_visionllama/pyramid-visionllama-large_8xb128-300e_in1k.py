# Pyramid VisionLLaMA-L on ImageNet-1k, 300 epochs.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./pyramid-visionllama-small_8xb128-300e_in1k.py']

model = dict(backbone=dict(arch='l', drop_path_rate=0.5), head=dict(in_channels=1024))
