# FSDP (mmengine's FSDPStrategy) for the plain encoders of the package:
#   - every TransformerBlock is one FSDP unit (`vllama_block_auto_wrap_policy`), full
#     sharding of parameters, gradients and optimizer state;
#   - bf16 mixed precision by FSDP (bf16 compute, fp32 gradient reduction and master
#     weights), so the config's optimizer wrapper is not an AMP one;
#   - activation checkpointing of every block by the strategy (`vllama_is_block`): set
#     the backbone's own `with_cp=False`;
#   - checkpoints hold the full (unsharded) state dict.
# The strategy needs mmengine's FlexibleRunner: a config lists this file in `_base_` and
# sets `runner_type = 'FlexibleRunner'` (reliable_runtime.py names ReliableRunner) and an
# optimizer wrapper such as ShardedClipOptimWrapper (gradient clipping by the norm of the
# whole sharded gradient).
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
