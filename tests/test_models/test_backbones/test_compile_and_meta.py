"""Every backbone builds on the meta device and compiles with ``fullgraph=True``.

Compile checks use ``backend='aot_eager'``: Dynamo traces the forward in one graph (a
graph break raises under ``fullgraph=True``), AOTAutograd traces the backward, and no
C++ code is generated (inductor's CPU compiles take minutes on 2 cores). Each model
runs forward + backward at two input sizes, then both sizes again under
``error_on_recompile``: a repeated size must hit the cached graphs.
"""
import pytest
import torch
import torch._dynamo as dynamo
from mmpretrain.registry import MODELS
from torch._dynamo.utils import counters

import visionllama_mm  # noqa: F401

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)

# name -> (config, input sizes, dynamic, forward kwargs)
CASES = {
    'visionllama': (dict(
        type='VisionLLaMA',
        arch=TINY,
        img_size=32,
        patch_size=8,
        out_type='cls_token',
        rope_type='as2d'), (32, 48), None, {}),
    'visionllama-vitdet-windows': (dict(
        type='VisionLLaMA',
        arch=TINY,
        img_size=32,
        patch_size=8,
        with_cls_token=False,
        out_type='featmap',
        window_size=3,
        window_block_indexes=[0],
        window_rope_coords='global'), (32, 48), False, {}),
    'pyramid-visionllama': (dict(
        type='PyramidVisionLLaMA',
        arch=dict(embed_dims=[8, 16], depths=[2, 2], num_heads=[1, 2]),
        window_sizes=3,
        sr_ratios=(2, 1),
        rope_type='as2d',
        rope_anchor=4,
        out_indices=(0, 1)), (32, 44), False, {}),
    'aim-prefix-causal': (dict(
        type='AIM',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2),
        img_size=32,
        patch_size=8,
        out_type='avg_featmap'), (32, 48), None, dict(prefix_len=torch.tensor([1, 3]))),
    'vitg-map-with-cp': (dict(
        type='ViTG', arch=TINY, img_size=32, patch_size=8, out_type='map',
        with_cp=True), (32, 48), None, {}),
}


def _step(model, size, kwargs):
    torch.manual_seed(size)
    x = torch.randn(2, 3, size, size)
    outs = model(x, **kwargs)
    loss = sum(o.float().square().mean() for o in outs)
    loss.backward()
    return outs


@pytest.mark.parametrize('name', list(CASES))
def test_builds_on_meta_device(name):
    cfg = CASES[name][0]
    with torch.device('meta'):
        model = MODELS.build(dict(cfg))
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize(
    'cfg', [
        dict(type='VisionLLaMA', arch='l', drop_path_rate=0.2),
        dict(
            type='VisionLLaMA',
            arch='b-mae',
            with_cls_token=False,
            out_type='featmap',
            window_size=14,
            window_block_indexes=[0, 1, 3, 4],
            drop_path_rate=0.1),
        dict(type='PyramidVisionLLaMA', arch='b', drop_path_rate=0.3),
        dict(type='AIM', arch='3b', drop_path_rate=0.1),
        dict(type='ViTG', arch='G', with_cp=True, drop_path_rate=0.1),
    ],
    ids=lambda c: f"{c['type']}-{c['arch']}")
def test_full_size_builds_on_meta_device(cfg):
    """Deferred init for FSDP (``param_init_fn``): no tensor is read in __init__."""
    with torch.device('meta'):
        model = MODELS.build(dict(cfg))
    assert all(p.is_meta for p in model.parameters())
    rates = [m.drop_prob for m in model.modules() if hasattr(m, 'drop_prob')]
    assert max(rates) == pytest.approx(cfg['drop_path_rate'])


def test_linear_drop_path_rates_match_torch_linspace():
    from visionllama_mm.models.utils import drop_path_rates
    for end, num in ((0.1, 12), (0.3, 24), (0.5, 1), (0.2, 2)):
        assert drop_path_rates(end, num) == pytest.approx(
            torch.linspace(0, end, num).tolist(), abs=1e-7)
    assert drop_path_rates(0.1, 0) == []
    assert drop_path_rates(0.1, 3, 'uniform') == [0.1] * 3
    with pytest.raises(ValueError, match="drop_path_mode must be 'linear' or 'uniform'"):
        drop_path_rates(0.1, 3, 'cosine')


@pytest.mark.parametrize('name', list(CASES))
def test_compiles_fullgraph_forward_backward_without_recompiles(name):
    cfg, sizes, dynamic, kwargs = CASES[name]
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg))
    model.init_weights()
    model.train()
    dynamo.reset()
    counters.clear()
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager', dynamic=dynamic)
    outs = [_step(compiled, size, kwargs) for size in sizes]
    assert not counters['graph_break'], dict(counters['graph_break'])
    graphs = counters['stats']['unique_graphs']
    assert 1 <= graphs <= len(sizes)

    # the same sizes again: cached graphs only
    with dynamo.config.patch(error_on_recompile=True):
        for _ in range(2):
            for size in sizes:
                _step(compiled, size, kwargs)
    assert counters['stats']['unique_graphs'] == graphs

    # and the compiled model computes what the eager one does
    eager = _step(model, sizes[-1], kwargs)
    for got, want in zip(outs[-1], eager):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
