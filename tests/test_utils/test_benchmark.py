"""Measuring helpers of the analysis tools (visionllama_mm/utils/benchmark.py): the
interleaved timing, per-repetition ratios, comparison groups and FLOP counts."""
import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from visionllama_mm.utils import (comparison_groups, count_flops, flop_counter,
                                  interleaved_seconds, markdown_table, median_seconds,
                                  ratio_stats, write_json)


def test_steps_run_in_turn_after_warmup():
    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in 'ab'}
    times = interleaved_seconds(steps, warmup=2, repeats=3, calls=2)
    assert calls == ['a', 'b'] * 2 + ['a', 'a', 'b', 'b'] * 3
    assert set(times) == {'a', 'b'}
    assert all(len(series) == 3 and min(series) >= 0 for series in times.values())
    calls.clear()
    assert median_seconds(lambda: calls.append('c'), warmup=1, repeats=2) >= 0
    assert calls == ['c'] * 3


def test_ratios_are_taken_per_repetition():
    stats = ratio_stats([2., 9., 3.], [1., 3., 2.])
    assert stats['ratios'] == [2., 3., 1.5]
    assert (stats['median'], stats['min'], stats['max']) == (2., 1.5, 3.)
    # a burst of load on both models of one repetition leaves that ratio unchanged
    assert ratio_stats([1., 10.], [2., 20.])['ratios'] == [0.5, 0.5]


@pytest.mark.parametrize('num, den', [([1.], [1., 2.]), ([], [])])
def test_ratio_series_must_match(num, den):
    with pytest.raises(ValueError, match='equally long'):
        ratio_stats(num, den)


def test_repeats_must_be_positive():
    with pytest.raises(ValueError, match='repeats and calls'):
        interleaved_seconds({'a': lambda: None}, warmup=0, repeats=0)


def test_models_linked_through_a_partner_form_one_group():
    assert comparison_groups(['a', 'b', 'c', 'd', 'e'], [('a', 'c'),
                                                         ('d', 'c')]) == [['a', 'c', 'd'],
                                                                          ['b'], ['e']]
    assert comparison_groups(['a', 'b'], []) == [['a'], ['b']]


def test_cpu_attention_counts_as_the_other_sdpa_kernels():
    """torch's CPU flash kernel and its backward count as FlopCounterMode counts the
    CUDA flash / efficient kernels (without the mapping: nothing)."""
    q, k, v = (torch.randn(2, 3, 16, 8, requires_grad=True) for _ in range(3))
    bhnnd = 2 * 3 * 16 * 16 * 8

    def flops(counter):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION), counter as mode:
            F.scaled_dot_product_attention(q, k, v).sum().backward()
        return mode.get_total_flops()

    assert flops(FlopCounterMode(display=False)) == 0
    # forward: Q K^T and P V, 2 FLOPs per multiply-add (4 B H N^2 d); backward: five
    # such products (Q K^T recomputed, dV, dP, dQ, dK)
    assert flops(flop_counter()) == (4 + 10) * bhnnd
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        assert count_flops(F.scaled_dot_product_attention, q, k, v) == 4 * bhnnd
    with sdpa_kernel(SDPBackend.MATH):  # the math path's two counted matmuls
        assert count_flops(F.scaled_dot_product_attention, q, k, v) == 4 * bhnnd


def test_markdown_and_json(tmp_path):
    assert markdown_table(('a', 'b'), [(1, 'x')]) == '| a | b |\n|---|---|\n| 1 | x |'
    path = write_json(str(tmp_path / 'sub' / 'r.json'), dict(a=[1, 2]))
    assert (tmp_path / 'sub' /
            'r.json').read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert path.endswith('r.json')
