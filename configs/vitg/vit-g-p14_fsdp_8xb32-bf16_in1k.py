# ViT-G/14 (1.84B) ImageNet-1k fine-tuning at 224 px with FSDP: mmengine's FlexibleRunner
# + FSDPStrategy, 8 GPUs x 32 images. Same model, optimizer (FactoredAdamW, see the
# notes below), decoupled weight decay and schedule as
# vit-g-p14_ft_8xb64-amp_in1k-224.py; what changes is how the model is spread:
#
# - every ViTBlock is one FSDP unit (full sharding of parameters, gradients and
#   optimizer state; `vllama_block_auto_wrap_policy`, visionllama_mm/engine/fsdp.py);
# - bf16 mixed precision is FSDP's (parameters all-gathered and computed in bf16,
#   gradients reduced and kept in fp32), so the optimizer wrapper is not an AMP one;
# - activation checkpointing is applied by the strategy inside each FSDP unit
#   (`vllama_is_block`); the backbone's own `with_cp` is off so nothing is recomputed
#   twice;
# - gradient clipping by the norm of the whole sharded gradient
#   (ShardedClipOptimWrapper).
#
# Notes on the optimizer under FSDP: with use_orig_params=True each rank sees its shard
# of a weight as a flat 1-D view, so FactoredAdamW keeps an unfactored second moment
# for it; and the first moment is fp32 here (not bf16), because FSDP's full optimizer
# state dict (the checkpoint) only gathers state of the parameters' dtype. That is 8
# bytes of state per parameter, divided by the number of ranks (~1.8 GB per GPU on 8).
#   bash tools/dist_train.sh configs/vitg/vit-g-p14_fsdp_8xb32-bf16_in1k.py 8
_base_ = ['./vit-g-p14_ft_8xb64-amp_in1k-224.py']

runner_type = 'FlexibleRunner'
model = dict(backbone=dict(with_cp=False))
train_dataloader = dict(batch_size=32)

optim_wrapper = dict(
    _delete_=True,
    type='ShardedClipOptimWrapper',
    constructor='DecoupledWeightDecayOptimWrapperConstructor',
    optimizer=dict(type='FactoredAdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.03, momentum_dtype='float32'),
    paramwise_cfg=dict(head_prefix='head.', head_weight_decay=3.0,
                       body_weight_decay=0.03, no_decay_flat=True,
                       no_decay_keys=('pos_embed', '.latent'), decay_mode='lr'),
    clip_grad=dict(max_norm=1.0))

strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='vllama_block_auto_wrap_policy'),
        sharding_strategy='FULL_SHARD',
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32',
                             buffer_dtype='float32'),
        use_orig_params=True,
        limit_all_gathers=True),
    activation_checkpointing=dict(check_fn='vllama_is_block'),
    state_dict_cfg='full')

# the recipe's lr is for a global batch of 512; --auto-scale-lr scales it to 8 x 32
auto_scale_lr = dict(base_batch_size=512)
