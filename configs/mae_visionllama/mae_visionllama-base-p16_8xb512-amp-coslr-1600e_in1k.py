# MAE pretraining of VisionLLaMA-B/16 on ImageNet-1k, 1600 epochs: the 800-epoch config
# with mmpretrain's 1600-epoch schedule (mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py:
# warmup from 1e-4 of the lr over 40 epochs, cosine to epoch 1600).
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./mae_visionllama-base-p16_8xb512-amp-coslr-800e_in1k.py']

param_scheduler = _base_.param_scheduler
param_scheduler[0]['start_factor'] = 1e-4
param_scheduler[1].update(T_max=1560, end=1600)
train_cfg = dict(max_epochs=1600)
