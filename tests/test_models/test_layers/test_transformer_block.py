"""The one transformer block: layer scale and drop path handled the same way for both
branches; ``ffn_drop_path`` puts drop path on both residual branches (default) or on
the attention branch only, as the release's MAE-derived blocks."""
import pytest
import torch
from mmcv.cnn.bricks import DropPath
from torch import nn

from visionllama_mm.models.backbones import VisionLLaMA
from visionllama_mm.models.layers import TransformerBlock


def _block(ffn_drop_path: bool) -> TransformerBlock:
    torch.manual_seed(0)
    block = TransformerBlock(16, 2, 32, drop_path_rate=0.9, ffn_drop_path=ffn_drop_path)
    # the attention branch adds exactly 0, so only the FFN branch's drop path shows
    nn.init.zeros_(block.attn.proj.weight)
    nn.init.zeros_(block.attn.proj.bias)
    return block


@pytest.mark.parametrize('ffn_drop_path', [True, False])
def test_ffn_branch_dropped_only_when_asked(ffn_drop_path):
    block = _block(ffn_drop_path)
    x = torch.randn(8, 4, 16, generator=torch.Generator().manual_seed(1))
    reference = block.eval()(x)
    torch.manual_seed(2)
    trained = block.train()(x)
    if ffn_drop_path:
        # every sample is either dropped (x) or kept and scaled by 1 / 0.1
        assert (trained - reference).abs().amax() > 1e-3
    else:
        torch.testing.assert_close(trained, reference, rtol=0, atol=0)


def test_default_keeps_both_branches():
    block = TransformerBlock(16, 2, 32, drop_path_rate=0.1)
    assert isinstance(block.drop_path, DropPath)
    assert isinstance(block.ffn_drop_path, DropPath)


def test_backbone_passes_it_to_every_block():
    arch = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)
    backbone = VisionLLaMA(
        arch=arch,
        img_size=16,
        patch_size=8,
        drop_path_rate=0.2,
        drop_path_mode='uniform',
        ffn_drop_path=False)
    for block in backbone.layers:
        assert isinstance(block.drop_path, DropPath)
        assert not isinstance(block.ffn_drop_path, DropPath)


@pytest.mark.parametrize('ffn_type', ['swiglu', 'mlp'])
def test_layer_scale_scales_both_branches(ffn_type):
    """γ1 scales the attention branch and γ2 the FFN branch, each in the block."""
    block = TransformerBlock(16, 2, 32, ffn_type, layer_scale_init_value=0.5).eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        after_attn = x + 0.5 * block.attn(block.ln1(x))
        expected = after_attn + 0.5 * block.ffn(block.ln2(after_attn))
        torch.testing.assert_close(block(x), expected)
        block.gamma2.weight.fill_(2.)
        changed = block(x)
    assert (changed - expected).abs().amax() > 1e-2
    assert set(k for k in block.state_dict()
               if 'gamma' in k) == {'gamma1.weight', 'gamma2.weight'}
