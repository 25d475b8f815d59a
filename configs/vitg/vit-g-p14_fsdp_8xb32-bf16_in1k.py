# ViT-G/14 fine-tuning on ImageNet-1k at 224 px with FSDP, 8 GPUs x 32.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = ['./vit-g-p14_ft_8xb64-amp_in1k-224.py']

runner_type = 'FlexibleRunner'
model = dict(backbone=dict(with_cp=False))
train_dataloader = dict(batch_size=32)

optim_wrapper = dict(
    _delete_=True,
    type='ShardedClipOptimWrapper',
    constructor='DecoupledWeightDecayOptimWrapperConstructor',
    optimizer=dict(
        type='FactoredAdamW',
        lr=1e-4,
        betas=(0.9, 0.999),
        weight_decay=0.03,
        momentum_dtype='float32'),
    paramwise_cfg=dict(
        head_prefix='head.',
        head_weight_decay=3.0,
        body_weight_decay=0.03,
        no_decay_flat=True,
        no_decay_keys=(*_base_.no_weight_decay.pos_embed,
                       *_base_.no_weight_decay.map_latent),
        decay_mode='lr'),
    clip_grad=dict(max_norm=1.0))

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

# the recipe's lr is for a global batch of 512; --auto-scale-lr scales it to 8 x 32
auto_scale_lr = dict(base_batch_size=512)
