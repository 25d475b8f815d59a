# AIM-3B autoregressive pretraining on ImageNet-1k with FSDP, 8 GPUs x 64.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = ['./aim-600m-p14_8xb512-amp-cosine-800e_in1k.py', '../_base_/fsdp_bf16.py']

runner_type = 'FlexibleRunner'
model = dict(backbone=dict(arch='3b', with_cp=False), head=dict(in_channels=3072))
train_dataloader = dict(batch_size=64)

# the 600M optimizer (AdamW, grad clip 1.0, no decay on 1-D parameters) without AMP:
# FSDP computes in bf16, ShardedClipOptimWrapper clips the norm of the sharded gradient
optim_wrapper = _base_.optim_wrapper
optim_wrapper.pop('dtype')
optim_wrapper.type = 'ShardedClipOptimWrapper'

# lr 1e-3 is for a global batch of 4096 (the 600M recipe); 8 x 64 = 512 here:
# use --auto-scale-lr (or more nodes) to scale it
auto_scale_lr = dict(base_batch_size=4096)
