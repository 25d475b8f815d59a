# ViT-G/14 fine-tuning on ImageNet-1k at 224 px with FSDP, 8 GPUs x 32.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = ['./vit-g-p14_ft_8xb64-amp_in1k-224.py', '../_base_/fsdp_bf16.py']

runner_type = 'FlexibleRunner'
model = dict(backbone=dict(with_cp=False))
train_dataloader = dict(batch_size=32)

# the fine-tuning optimizer without AMP (FSDP computes in bf16); ShardedClipOptimWrapper
# clips the norm of the sharded gradient; the first moment is fp32 (README "Configs")
optim_wrapper = _base_.optim_wrapper
optim_wrapper.pop('dtype')
optim_wrapper.pop('loss_scale')
optim_wrapper.type = 'ShardedClipOptimWrapper'
optim_wrapper.optimizer.momentum_dtype = 'float32'

# the recipe's lr is for a global batch of 512; --auto-scale-lr scales it to 8 x 32
auto_scale_lr = dict(base_batch_size=512)
