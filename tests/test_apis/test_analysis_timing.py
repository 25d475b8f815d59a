"""Interleaved timing and per-repetition ratios of the benchmark tools (logic only)."""
import pytest

from visionllama_mm.utils import interleaved_seconds, ratio_stats


def test_steps_run_in_turn_after_warmup():
    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in 'ab'}
    times = interleaved_seconds(steps, warmup=2, repeats=3, calls=2)
    assert calls == ['a', 'b'] * 2 + ['a', 'a', 'b', 'b'] * 3
    assert set(times) == {'a', 'b'}
    assert all(len(series) == 3 and min(series) >= 0 for series in times.values())


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
