# AIM-3B autoregressive pretraining on ImageNet-1k with FSDP, 8 GPUs x 64.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = ['./aim-600m-p14_8xb512-amp-cosine-800e_in1k.py']

runner_type = 'FlexibleRunner'
model = dict(backbone=dict(arch='3b', with_cp=False), head=dict(in_channels=3072))
train_dataloader = dict(batch_size=64)

optim_wrapper = dict(
    _delete_=True,
    type='ShardedClipOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(flat_decay_mult=0.0))

strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='vllama_block_auto_wrap_policy'),
        sharding_strategy='FULL_SHARD',
        mixed_precision=dict(
            param_dtype='bfloat16', reduce_dtype='float32', buffer_dtype='float32'),
        use_orig_params=True,
        limit_all_gathers=True),
    activation_checkpointing=dict(check_fn='vllama_is_block'),
    state_dict_cfg='full')

# lr 1e-3 is for a global batch of 4096 (the 600M recipe); 8 x 64 = 512 here:
# use --auto-scale-lr (or more nodes) to scale it
auto_scale_lr = dict(base_batch_size=4096)
