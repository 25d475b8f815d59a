"""ViTDet-style window / global block mix of the plain backbone."""
import pytest
import torch

from visionllama_mm.models import VisionLLaMA

TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)


def vitdet(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        arch=TINY,
        img_size=64,
        patch_size=8,
        with_cls_token=False,
        out_type='featmap',
        window_size=3,
        window_block_indexes=(0, 1, 3))
    cfg.update(kwargs)
    return VisionLLaMA(**cfg).eval()


@pytest.mark.parametrize('coords', ['local', 'global'])
@pytest.mark.parametrize('hw', [(64, 64), (72, 56), (40, 88)])
def test_window_global_mix_shapes_with_padding(coords, hw):
    model = vitdet(window_rope_coords=coords)
    out = model(torch.randn(2, 3, *hw))[0]
    assert out.shape == (2, 32, hw[0] // 8, hw[1] // 8)


def test_windowed_blocks_are_local():
    model = vitdet(window_block_indexes=(0, 1, 2, 3))  # no global block at all
    x = torch.randn(1, 3, 48, 48)  # 6x6 grid, 3x3 windows
    base = model(x)[0]
    x2 = x.clone()
    x2[..., 40:, 40:] += 3.  # only touches the bottom-right window
    diff = (model(x2)[0] - base).abs().sum(1)[0]
    assert diff[:3, :3].max() == 0 and diff[3:, 3:].max() > 0


def test_window_size_equal_to_grid_is_global_attention():
    x = torch.randn(1, 3, 48, 48)  # 6x6 grid
    windowed = vitdet(window_size=6, window_rope_coords='global')(x)[0]
    plain = vitdet(window_block_indexes=())(x)[0]
    assert torch.allclose(windowed, plain, atol=1e-5)


def test_window_errors():
    with pytest.raises(ValueError, match='with_cls_token=False'):
        vitdet(with_cls_token=True)
    with pytest.raises(ValueError, match='window_size >= 1'):
        vitdet(window_size=0)
    with pytest.raises(
            ValueError, match=r"window_rope_coords must be one of \('local', 'global'\)"):
        vitdet(window_rope_coords='relative')
