"""FSDP configs (mmengine FlexibleRunner + FSDPStrategy) for ViT-G/14 and AIM-3B.

Every config parses; the names it refers to resolve in mmengine's registries; the
full-size model builds on the meta device (deferred init); and a tiny version of the
ViT-G config trains 2 iterations in 2 processes on the CPU (gloo) through
tools/dist_train.sh -> tools/train.py -> FlexibleRunner -> FSDPStrategy. FSDP (torch's
FSDP1) refuses the CPU unless ``device_id='cpu'`` is given, which the tiny run sets;
bf16 mixed precision is switched off there (fp32 on CPU).
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS, OPTIM_WRAPPERS, STRATEGIES, DefaultScope
from torch import nn

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.fsdp import (block_auto_wrap_policy, is_block,
                                        sharded_clip_grad_norm_)
from visionllama_mm.models.layers import TransformerBlock

VITG = Path('configs/vitg/vit-g-p14_fsdp_8xb32-bf16_in1k.py')
AIM3B = Path('configs/aim/aim-3b-p14_fsdp_8xb64-bf16_in1k.py')


@pytest.mark.parametrize(
    'path, params_b',
    [(VITG, 1.88), (AIM3B, 2.72)],  # trunk (+ MAP head)
    ids=lambda v: getattr(v, 'stem', str(v)))
def test_config_parses_and_builds_on_meta(path, params_b):
    cfg = Config.fromfile(path)
    assert cfg.runner_type == 'FlexibleRunner'
    strategy = cfg.strategy
    assert STRATEGIES.get(strategy.type).__name__ == 'FSDPStrategy'
    wrapper = strategy.model_wrapper
    assert FUNCTIONS.get(wrapper.auto_wrap_policy.type) is block_auto_wrap_policy
    assert FUNCTIONS.get(strategy.activation_checkpointing.check_fn) is is_block
    assert wrapper.mixed_precision.param_dtype == 'bfloat16'
    assert wrapper.use_orig_params and wrapper.sharding_strategy == 'FULL_SHARD'
    # resolved as the runner's build does: in the registry of the config's scope
    with OPTIM_WRAPPERS.switch_scope_and_registry(cfg.default_scope) as registry:
        assert registry.get(cfg.optim_wrapper.type).__name__ == \
            'ShardedClipOptimWrapper'
    assert cfg.model.backbone.with_cp is False  # checkpointing by the strategy
    # the whole model on the meta device: what FSDP's deferred init starts from
    from mmpretrain.registry import MODELS
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmpretrain'), torch.device('meta'):
        model = MODELS.build(model_cfg)
    assert all(p.is_meta for p in model.parameters())
    trunk = sum(p.numel() for p in model.backbone.parameters())
    assert trunk / 1e9 == pytest.approx(params_b, rel=0.02)
    blocks = [m for m in model.modules() if is_block(m)]
    assert len(blocks) == model.backbone.num_layers
    # the policy wraps blocks and nothing else
    assert block_auto_wrap_policy(blocks[0], False, 0)
    assert not block_auto_wrap_policy(model.backbone.patch_embed, False, 0)


def test_policy_and_check_fn_know_both_block_types():
    vit = TransformerBlock(8, 2, 16, 'mlp')
    llama = TransformerBlock(8, 2, 16, 'swiglu')
    assert is_block(vit) and is_block(llama) and not is_block(nn.Linear(2, 2))


def test_sharded_clip_without_process_group_equals_torch():
    torch.manual_seed(0)
    a = [nn.Parameter(torch.randn(5, 3)), nn.Parameter(torch.randn(7))]
    b = [nn.Parameter(p.detach().clone()) for p in a]
    for p, q in zip(a, b):
        p.grad = torch.randn_like(p) * 3
        q.grad = p.grad.clone()
    want = nn.utils.clip_grad_norm_(a, 1.0)
    got = sharded_clip_grad_norm_(b, 1.0)
    torch.testing.assert_close(got, want)
    for p, q in zip(a, b):
        torch.testing.assert_close(q.grad, p.grad)


TINY_RUN = """
_base_ = [{base!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2,
                            feedforward_channels=64),
                  img_size=28, drop_path_rate=0., init_cfg=None),
    head=dict(num_classes=3, in_channels=32),
    train_cfg=dict(_delete_=True))
data_preprocessor = dict(num_classes=3)
classes = ('circle', 'square', 'triangle')
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='ImageNet', data_root='data/demo/imagenet',
                 classes=classes, split='train',
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='Resize', scale=28), dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
param_scheduler = None
train_cfg = dict(_delete_=True, by_epoch=False, max_iters=2)
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
strategy = dict(model_wrapper=dict(device_id='cpu', mixed_precision=None))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_tiny_vitg_fsdp_trains_in_two_cpu_processes(tmp_path):
    config = tmp_path / 'tiny_fsdp.py'
    config.write_text(TINY_RUN.format(base=str(VITG.resolve())))
    env = dict(
        os.environ, OMP_NUM_THREADS='1', PORT=str(_free_port()), PYTHON=sys.executable)
    work = tmp_path / 'work'
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         str(config), '2', '--work-dir',
         str(work)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Iter(train) [2/2]' in log
    assert 'FullyShardedDataParallel' in log or 'FSDP' in log
    state = torch.load(
        work / 'iter_2.pth', map_location='cpu', weights_only=False)['state_dict']
    # a full (unsharded) state dict with the model's own names
    assert state['backbone.pos_embed'].shape == (1, 4, 32)
    assert state['backbone.layers.0.attn.qkv.weight'].shape == (96, 32)
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
