"""The FFNs of the transformer block: the CPU-eager SwiGLU against mmpretrain's
SwiGLUFFN, and the choice by ``ffn_type``."""
import pytest
import torch
from mmpretrain.models.utils import SwiGLUFFN

from visionllama_mm.models.layers import (GELUMLP, SplitSwiGLUFFN, TransformerBlock,
                                          build_ffn)


@pytest.mark.parametrize('bias', [False, True])
def test_split_swiglu_equals_mmpretrain(bias):
    torch.manual_seed(0)
    kwargs = dict(
        embed_dims=16, feedforward_channels=24, bias=bias, layer_scale_init_value=0.5)
    ours, ref = SplitSwiGLUFFN(**kwargs), SwiGLUFFN(**kwargs)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 16, requires_grad=True)
    identity = torch.randn(2, 5, 16)
    out, expected = ours(x, identity), ref(x, identity)
    assert torch.allclose(out, expected, atol=1e-6)
    assert not torch.allclose(out, identity, atol=1e-2)  # the FFN contributes
    grads = torch.autograd.grad(out.square().sum(), [x, ours.w12.weight])
    grads_ref = torch.autograd.grad(expected.square().sum(), [x, ref.w12.weight])
    for got, want in zip(grads, grads_ref):
        assert torch.allclose(got, want, atol=1e-5)


def test_block_ffn_types_and_keys():
    swiglu = TransformerBlock(16, 2, 32, 'swiglu', ffn_bias=False)
    assert isinstance(swiglu.ffn, SplitSwiGLUFFN)
    assert {k
            for k in swiglu.state_dict()
            if k.startswith('ffn.')} == {'ffn.w12.weight', 'ffn.w3.weight'}
    mlp = TransformerBlock(16, 2, 32, 'mlp')
    assert isinstance(mlp.ffn, GELUMLP)
    assert {k
            for k in mlp.state_dict() if k.startswith('ffn.')
            } == {'ffn.fc1.weight', 'ffn.fc1.bias', 'ffn.fc2.weight', 'ffn.fc2.bias'}
    # the SwiGLU inside the block has no residual and no layer scale of its own
    x = torch.randn(2, 3, 16)
    weight = swiglu.ffn.w12.weight
    expected = swiglu.ffn.w3(
        torch.nn.functional.silu(x @ weight[:32].T) * (x @ weight[32:].T))
    torch.testing.assert_close(swiglu.ffn(x), expected)


def test_unknown_ffn_type_is_named():
    with pytest.raises(ValueError, match="ffn_type must be one of .*'geglu'"):
        build_ffn('geglu', 16, 32)
