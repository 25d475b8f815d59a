import pytest
import torch
from reference import official_rotate

from visionllama_mm.models.layers import (RotaryEmbedding2D, apply_rope, attend,
                                          attend_qkv, grid_coords, rotate_pairs)


def rotated_dot(rope, q, k, pq, pk, grid=(8, 8)):
    cq = rope(pq.view(1, 1, 2), grid)
    ck = rope(pk.view(1, 1, 2), grid)
    rq = apply_rope(q.view(1, 1, 1, -1), cq)
    rk = apply_rope(k.view(1, 1, 1, -1), ck)
    return (rq * rk).sum()


def test_matches_release_layout():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 12, 16, dtype=torch.float64)
    coords = grid_coords(3, 4)[0]
    rope = RotaryEmbedding2D(16)
    ours = apply_rope(x, rope(coords[None], (3, 4)))
    assert torch.allclose(ours, official_rotate(x, coords), atol=1e-5)


def test_channel_layout_interleaves_x_and_y():
    rope = RotaryEmbedding2D(8)
    cos, _ = rope(torch.tensor([[[2., 0.]]]), (4, 4))  # x = 2, y = 0
    # pairs (0,1) and (4,5) rotate with x, pairs (2,3) and (6,7) with y (= identity)
    f1 = 10000.**(-4 / 8)
    expected = torch.tensor([2., 2., 0., 0., 2 * f1, 2 * f1, 0., 0.]).cos()
    assert torch.allclose(cos[0, 0], expected)


@pytest.mark.parametrize('rope_type', ['2d', 'as2d', 'ntk'])
@pytest.mark.parametrize('shift', [(3., -2.), (0.37, 1.91)])
def test_relative_position_property(rope_type, shift):
    torch.manual_seed(1)
    rope = RotaryEmbedding2D(16, rope_type=rope_type, anchor_grid=(5, 7), ntk_alpha=2.)
    q, k = torch.randn(16), torch.randn(16)
    pq, pk = torch.tensor([1.5, 4.]), torch.tensor([6., 0.25])
    d = torch.tensor(shift)
    base = rotated_dot(rope, q, k, pq, pk)
    moved = rotated_dot(rope, q, k, pq + d, pk + d)
    assert torch.allclose(base, moved, atol=1e-4)
    assert not torch.allclose(base, rotated_dot(rope, q, k, pq + d, pk), atol=1e-3)


def test_as2d_equals_2d_at_anchor_and_scales_per_axis():
    plain = RotaryEmbedding2D(16, '2d')
    anchored = RotaryEmbedding2D(16, 'as2d', anchor_grid=(6, 10))
    for a, b in zip(plain.grid_tables(6, 10, 'cpu'), anchored.grid_tables(6, 10, 'cpu')):
        assert torch.equal(a, b)
    # on a 12 x 5 grid, x is scaled by 10 / 5 and y by 6 / 12
    coords = grid_coords(12, 5)
    expected = plain(coords * torch.tensor([2., 0.5]), (12, 5))
    got = anchored.grid_tables(12, 5, 'cpu')
    assert torch.allclose(got[0], expected[0]) and torch.allclose(got[1], expected[1])


def test_as2d_height_scale_is_the_release_rule():
    # the release's AS2DRoPE: x and y both by anchor_h / H; per axis only differs in x
    plain = RotaryEmbedding2D(16, '2d')
    height = RotaryEmbedding2D(16, 'as2d', anchor_grid=(6, 10), as2d_scale='height')
    assert height.axis_scale((12, 5)) == (0.5, 0.5)
    coords = grid_coords(12, 5)
    expected = plain(coords * 0.5, (12, 5))
    got = height.grid_tables(12, 5, 'cpu')
    assert torch.allclose(got[0], expected[0]) and torch.allclose(got[1], expected[1])
    square = RotaryEmbedding2D(16, 'as2d', anchor_grid=(14, 14))
    square_h = RotaryEmbedding2D(16, 'as2d', anchor_grid=(14, 14), as2d_scale='height')
    for a, b in zip(square.grid_tables(7, 7, 'cpu'), square_h.grid_tables(7, 7, 'cpu')):
        assert torch.equal(a, b)
    assert 'as2d_scale=' in repr(height)


def test_1d_is_llama_rope_over_flat_index():
    rope = RotaryEmbedding2D(8, '1d')
    cos, sin = rope.grid_tables(3, 4, 'cpu')
    pos = torch.arange(12.)
    freqs = 10000.**(-torch.arange(0, 8, 2.) / 8)
    angles = torch.outer(pos, freqs).repeat_interleave(2, -1)
    signs = torch.tensor([-1., 1.]).repeat(4)  # sine table carries the pair signs
    assert torch.allclose(cos[0], angles.cos())
    assert torch.allclose(sin[0], angles.sin() * signs)


def test_ntk_theta():
    rope = RotaryEmbedding2D(32, 'ntk', ntk_alpha=4.)
    assert rope.theta == pytest.approx(10000. * 4.**(16 / 14))


def test_cache_distinguishes_grids_with_same_token_count():
    rope = RotaryEmbedding2D(8)
    a = rope.grid_tables(4, 8, 'cpu')
    b = rope.grid_tables(8, 4, 'cpu')
    assert not torch.equal(a[0], b[0])
    fresh = rope(grid_coords(8, 4), (8, 4))
    assert torch.equal(b[0], fresh[0])
    assert rope.grid_tables(4, 8, 'cpu')[0] is a[0]  # cached
    with_cls = rope.grid_tables(4, 8, 'cpu', cls_coord=(7., -1.))
    assert with_cls[0].shape[1] == 33


def test_bad_arguments():
    with pytest.raises(ValueError, match='rope_type must be one of'):
        RotaryEmbedding2D(8, 'xy')
    with pytest.raises(ValueError, match='multiple of 4'):
        RotaryEmbedding2D(6)
    with pytest.raises(ValueError, match='anchor_grid'):
        RotaryEmbedding2D(8, 'as2d')
    with pytest.raises(ValueError, match="as2d_scale must be one of"):
        RotaryEmbedding2D(8, 'as2d', anchor_grid=(4, 4), as2d_scale='x')


def test_bf16_autocast_rotation_in_fp32():
    torch.manual_seed(0)
    rope = RotaryEmbedding2D(16, 'as2d', anchor_grid=(14, 14))
    q = torch.randn(1, 2, 56 * 56, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        tables = rope.grid_tables(56, 56, 'cpu')
        out = apply_rope(q.bfloat16(), tables)
    assert tables[0].dtype == torch.float32 and out.dtype == torch.bfloat16
    ref = apply_rope(q, rope.grid_tables(56, 56, 'cpu'))
    assert torch.allclose(out.float(), ref, atol=3e-2)


def test_compiles_fullgraph():
    rope = RotaryEmbedding2D(8, 'as2d', anchor_grid=(4, 4))

    def self_attend(q):
        tables = rope.grid_tables(3, 5, q.device, cls_coord=(4., -1.))
        return attend(q, q, q, tables, tables)

    q = torch.randn(1, 2, 16, 8)
    compiled = torch.compile(self_attend, fullgraph=True, backend='eager')
    assert torch.allclose(compiled(q), self_attend(q), atol=1e-5)


def _real_rotation(x, tables):
    """The rotation in real arithmetic, the formula traced graphs use."""
    cos, sin_signed = tables
    return x * cos.unsqueeze(1) + rotate_pairs(x) * sin_signed.unsqueeze(1)


def test_eager_rotation_of_stacked_strided_qk_equals_real_formula():
    torch.manual_seed(0)
    rope = RotaryEmbedding2D(16)
    tables = rope.grid_tables(3, 5, 'cpu')
    # q and k as the permuted view of a fused projection: (2, B, heads, N, Hc)
    qkv = torch.randn(2, 15, 3, 4, 16, requires_grad=True)
    qk = qkv.permute(2, 0, 3, 1, 4)[:2]
    out = apply_rope(qk, tables)
    expected = _real_rotation(qk, tables)
    assert torch.allclose(out, expected, atol=1e-6)
    grad, = torch.autograd.grad((out * expected.detach()).sum(), qkv)
    grad_ref, = torch.autograd.grad((expected * expected.detach()).sum(), qkv)
    assert torch.allclose(grad, grad_ref, atol=1e-5)
    # a view the complex path cannot take (odd offset) goes the real way
    odd = torch.randn(1, 1, 15, 17)[..., 1:]
    assert torch.allclose(apply_rope(odd, tables), _real_rotation(odd, tables), atol=1e-6)


def test_qkv_attention_equals_separate_rotations():
    torch.manual_seed(0)
    rope = RotaryEmbedding2D(8)
    tables = rope.grid_tables(4, 4, 'cpu')
    qkv = torch.randn(2, 16, 3, 2, 8).permute(2, 0, 3, 1, 4)
    fused = attend_qkv(qkv, tables)
    assert fused.shape == (2, 16, 16)
    assert torch.allclose(fused, attend(*qkv, tables, tables), atol=1e-6)
    assert torch.allclose(attend_qkv(qkv), attend(*qkv), atol=1e-6)


@pytest.mark.parametrize('strict', [False, True])
def test_exported_graph_rotates_in_real_arithmetic(strict):
    """Export (and ONNX through it) sees no complex tensors."""
    rope = RotaryEmbedding2D(8)

    class Attend(torch.nn.Module):

        def forward(self, qkv):
            return attend_qkv(qkv, rope.grid_tables(3, 4, qkv.device))

    qkv = torch.randn(3, 1, 2, 12, 8)
    program = torch.export.export(Attend(), (qkv, ), strict=strict)
    targets = [
        str(node.target) for node in program.graph.nodes if node.op == 'call_function'
    ]
    assert not [t for t in targets if 'complex' in t or 'view_as_real' in t]
    assert torch.allclose(program.module()(qkv), Attend()(qkv), atol=1e-6)
