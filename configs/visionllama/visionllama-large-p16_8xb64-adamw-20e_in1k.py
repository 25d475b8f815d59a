# VisionLLaMA-L: fine-tune the 128 px model at 224 px for 20 epochs (release recipe).
_base_ = ['./visionllama-base-p16_8xb64-adamw-20e_in1k.py']
model = dict(backbone=dict(arch='l', drop_path_rate=0.45), head=dict(in_channels=1024))
load_from = 'work_dirs/visionllama-large-p16_8xb256-lamb-800e_in1k-128px/epoch_800.pth'
