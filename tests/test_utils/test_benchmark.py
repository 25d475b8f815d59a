"""Measuring helpers of the analysis tools (visionllama_mm/utils/benchmark.py): the
interleaved timing, per-repetition ratios, comparison groups and FLOP counts."""
import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from visionllama_mm.errors import LaunchError
from visionllama_mm.utils import (comparison_groups, count_flops, flop_counter,
                                  interleaved_seconds, markdown_table, measure_groups,
                                  median_seconds, pair_ratios, ratio_stats, ratios_table,
                                  rows_table, write_json)


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


def _builder(calls):
    """Tiny models: 'ok' and 'ok2' work, 'oom' fails to build, 'bad' in its step."""

    def build(name):
        if name == 'oom':
            raise RuntimeError('CUDA out of memory. Tried to allocate 2 GiB')
        if name == 'user':
            raise LaunchError('user: a bad config')
        model = torch.nn.Linear(4, 2)

        def step(runner):
            calls.append(name)
            if name == 'bad':
                raise ValueError('shapes do not match')
            runner(torch.ones(3, 4))

        return dict(batch_size=3, width=4), model, dict(fwd=step)

    return build


def test_measure_groups_times_each_group_and_reports_failures():
    calls = []
    rows = measure_groups([['ok', 'oom', 'ok2'], ['bad']],
                          _builder(calls), ['fwd'],
                          warmup=1,
                          repeats=2)
    # warm-up per model, then the group's working models in turn, per repetition
    assert calls == ['ok', 'ok2', 'ok', 'ok2', 'ok', 'ok2', 'bad']
    found = {r['model']: r for r in rows}
    assert [r['model'] for r in rows] == ['ok', 'oom', 'ok2', 'bad']
    assert found['oom']['error'] == 'OOM' and 'fwd_ms' not in found['oom']
    assert found['bad']['error'] == 'ValueError: shapes do not match'
    for name in ('ok', 'ok2'):
        row = found[name]
        assert row['width'] == 4 and row['mode'] == 'eager' and 'error' not in row
        assert len(row['fwd_rep_ms']) == 2
        assert row['fwd_img_s'] == pytest.approx(3e3 / row['fwd_ms'])
    # ratios only where both models were timed
    pairs = pair_ratios(rows, [('ok', 'ok2'), ('ok', 'oom')], ['fwd'])
    assert [(p['a'], p['b'], p['metric']) for p in pairs] == [('ok', 'ok2', 'fwd_time')]
    per_image = pair_ratios(rows, [('ok', 'ok2')], ['fwd'], of='img_s')[0]
    assert per_image['ratios'] == pytest.approx([1 / r for r in pairs[0]['ratios']])
    table = rows_table(rows, [('model', lambda r: r['model']),
                              ('ms', lambda r: f"{r['fwd_ms']:.1f}")])
    assert '| oom | OOM |' in table
    assert '| bad | ValueError: shapes do not match |' in table
    assert ratios_table(pairs, ['fwd'], {'ok2': 'second'}).splitlines()[0] == \
        '| time ratio (interleaved) | mode | fwd: median (min-max) |'
    assert '| ok / second | eager |' in ratios_table(pairs, ['fwd'], {'ok2': 'second'})
    # a user error (a bad config) is not a model failure: it stops the run
    with pytest.raises(LaunchError, match='bad config'):
        measure_groups([['ok', 'user']], _builder([]), ['fwd'])


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
