"""Numerical health: each demo model trains a few steps under bf16 / fp16 autocast
with finite losses and weights, RoPE tables stay fp32 under autocast, and fp32 and
bf16 backbone outputs agree at 224 and 896 px (large RoPE positions)."""
import contextlib
import copy
import importlib
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import visionllama_mm  # noqa: F401
from visionllama_mm.models import PyramidVisionLLaMA, VisionLLaMA
from visionllama_mm.models.layers import rope as rope_module

DEMOS = {
    'mmpretrain': 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py',
    'mmseg': 'configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py',
    'mmdet': 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py',
}


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('scope', list(DEMOS))
def test_demo_models_train_finite_under_autocast(scope, dtype):
    registry = importlib.import_module(f'{scope}.registry')
    cfg = Config.fromfile(DEMOS[scope])
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.batch_size = 2
    loader_cfg.dataset.indices = 2
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.MODELS.build(cfg.model)
        model.init_weights()
        batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    model.train()
    autocast = torch.autocast('cpu', dtype=dtype)
    if scope == 'mmdet':
        # mmcv's CPU NMS / RoIAlign kernels take fp32 only (its CUDA kernels take
        # half): on the CPU the backbone and FPN run under autocast, the heads in fp32
        extract = model.extract_feat

        def extract_under_autocast(inputs):
            with torch.autocast('cpu', dtype=dtype):
                feats = extract(inputs)
            assert all(f.dtype == dtype for f in feats)
            return tuple(f.float() for f in feats)

        model.extract_feat = extract_under_autocast
        autocast = contextlib.nullcontext()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(3):
        data = model.data_preprocessor(batch, True)
        with autocast:
            losses = model(**data, mode='loss')
        loss, log_vars = model.parse_losses(losses)
        assert torch.isfinite(loss), log_vars
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name


def test_rope_tables_are_fp32_under_autocast(monkeypatch):
    seen = []
    original = rope_module.apply_rope

    def spy(x, tables, *args, **kwargs):
        seen.append((x.dtype, *[t.dtype for t in tables]))
        return original(x, tables, *args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith('visionllama_mm') and \
                getattr(module, 'apply_rope', None) is original:
            monkeypatch.setattr(module, 'apply_rope', spy)
    models = [
        VisionLLaMA(
            arch=dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=128),
            patch_size=16,
            out_type='featmap',
            with_cls_token=False,
            rope_type=rt) for rt in ('2d', 'as2d')
    ]
    models.append(
        PyramidVisionLLaMA(
            arch=dict(
                embed_dims=[16, 32, 64, 128],
                depths=[2, 2, 2, 2],
                num_heads=[1, 2, 4, 8],
                feedforward_channels=[64, 96, 192, 384]),
            rope_type='as2d',
            rope_anchor=14))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        for model in models:
            model(torch.randn(1, 3, 128, 96))
    assert seen, 'apply_rope was not called'
    for x_dtype, *table_dtypes in seen:
        assert all(t == torch.float32 for t in table_dtypes), table_dtypes


@pytest.mark.parametrize('size', [224, 896])
def test_fp32_and_bf16_outputs_agree(size):
    torch.manual_seed(0)
    model = VisionLLaMA(
        arch=dict(embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=128),
        patch_size=16,
        out_type='featmap',
        with_cls_token=False,
        out_indices=(-1, ),
        rope_type='as2d').eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        ref = model(x)[0]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)[0]
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    low = low.float()
    cos = torch.nn.functional.cosine_similarity(ref.flatten(), low.flatten(), dim=0)
    rel = (low - ref).norm() / ref.norm()
    assert cos > 0.999 and rel < 0.02, (float(cos), float(rel))
