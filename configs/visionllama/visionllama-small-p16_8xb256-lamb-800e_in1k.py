# VisionLLaMA-S, supervised ImageNet-1k, 224 px, 800 epochs (paper Table 2 setting).
_base_ = ['./_base_/deit3-lamb_in1k.py']
