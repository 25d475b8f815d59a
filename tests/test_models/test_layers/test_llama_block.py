"""The CPU-eager SwiGLU of the VisionLLaMA block against mmpretrain's SwiGLUFFN."""
import pytest
import torch
from mmpretrain.models.utils import SwiGLUFFN

from visionllama_mm.models.layers.llama_block import SplitSwiGLUFFN, VisionLLaMABlock


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


def test_block_uses_split_swiglu_with_unchanged_keys():
    block = VisionLLaMABlock(16, 2, 32)
    assert isinstance(block.ffn, SplitSwiGLUFFN)
    assert {k
            for k in block.state_dict()
            if k.startswith('ffn.')} == {'ffn.w12.weight', 'ffn.w3.weight'}
