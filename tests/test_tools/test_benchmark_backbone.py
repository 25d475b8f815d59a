"""tools/analysis_tools/benchmark_backbone.py on the CPU with tiny presets (smoke test).

The real run is on a GPU (``--device cuda``, docs/benchmarks.md); here every tiny
preset (ours and a timm ViT) takes eager and compiled (``aot_eager``) training steps,
timed interleaved with the models it is paired with, and the JSON / Markdown outputs,
the per-repetition ratios, the batch-size overrides and the goal checks are checked
(the logic, not the timings).
"""
import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path('tools/analysis_tools/benchmark_backbone.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_backbone', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_presets_run_on_cpu(bench, tmp_path):
    models = [
        'visionllama-tiny', 'pyramid-visionllama-tiny', 'aim-tiny', 'vitg-tiny',
        'timm-vit-tiny'
    ]
    rows = bench.main([
        '--device', 'cpu', '--precision', 'fp32', '--models', ','.join(models), '--steps',
        '1', '--repeats', '3', '--warmup', '1', '--compile', '--compile-backend',
        'aot_eager', '--out-dir',
        str(tmp_path), '--batch-size', 'visionllama-tiny=2,timm-vit-tiny=1', '--pairs',
        'visionllama-tiny:timm-vit-tiny,aim-tiny:timm-vit-tiny'
    ])
    # the paired models form one group, timed together; the others alone
    batches = {'visionllama-tiny': 2, 'timm-vit-tiny': 1}
    order = [
        'visionllama-tiny', 'aim-tiny', 'timm-vit-tiny', 'pyramid-visionllama-tiny',
        'vitg-tiny'
    ]
    assert [(r['model'], r['mode']) for r in rows] == [(m, mode) for m in order
                                                       for mode in ('eager', 'compile')]
    for row in rows:
        assert 'error' not in row, row
        # --batch-size overrides two presets; the others keep theirs (4)
        assert row['batch_size'] == batches.get(row['model'], 4)
        assert row['img_s'] > 0 and len(row['rep_step_ms']) == 3
        assert row['step_ms'] == pytest.approx(sorted(row['rep_step_ms'])[1])
        assert row['tflop_per_step'] > 0 and row['mfu'] > 0
    # activation checkpointing (vitg-tiny) recomputes the forward in the backward
    vitg = next(r for r in rows if r['model'] == 'vitg-tiny')
    assert vitg['tflop_per_step'] > vitg['model_tflop_per_step']
    data = json.loads((tmp_path / 'results.json').read_text())
    assert len(data['rows']) == len(rows) and data['device'] == 'cpu'
    assert data['repeats'] == 3 and data['steps'] == 1
    # img/s ratio of each repetition: (batch_a / t_a) / (batch_b / t_b)
    found = {(r['model'], r['mode']): r for r in rows}
    assert [(p['a'], p['b'], p['mode'])
            for p in data['pairs']] == [(a, 'timm-vit-tiny', mode)
                                        for a in ('visionllama-tiny', 'aim-tiny')
                                        for mode in ('eager', 'compile')]
    for pair in data['pairs']:
        a, b = found[(pair['a'], pair['mode'])], found[(pair['b'], pair['mode'])]
        expected = [(a['batch_size'] / ta) / (b['batch_size'] / tb)
                    for ta, tb in zip(a['rep_step_ms'], b['rep_step_ms'])]
        assert pair['ratios'] == pytest.approx(expected)
        assert pair['median'] == pytest.approx(sorted(expected)[1])
        assert (pair['min'], pair['max']) == pytest.approx((min(expected), max(expected)))
    table = (tmp_path / 'results.md').read_text()
    assert '| visionllama-tiny | compile | 2 |' in table
    first = data['pairs'][0]
    assert (f"| visionllama-tiny / timm-vit-tiny | eager | {first['median']:.3f} | "
            f"{first['min']:.3f}-{first['max']:.3f} |") in table


def test_arguments_and_goals(bench):
    args = bench.parse_args([
        '--models', 'visionllama-b,timm-vit-b16', '--batch-size', 'visionllama-b=128',
        '--compile'
    ])
    assert args.batch_sizes == {'visionllama-b': 128}
    assert args.mode_list == ['eager', 'compile']
    assert set(bench.DEFAULT_MODELS) >= {
        'visionllama-b', 'pyramid-visionllama-b', 'aim-600m', 'vitg-G14', 'timm-vit-b16',
        'timm-eva02-b14', 'timm-vit-l16', 'timm-vit-g14', 'timm-twins-svt-b',
        'timm-vit-G14'
    }
    # the goals' pairs among --models, unless --pairs names others
    assert args.pair_list == [('visionllama-b', 'timm-vit-b16')]
    assert bench.parse_args([
        '--models', 'visionllama-b,timm-vit-b16,aim-600m', '--pairs',
        'aim-600m:visionllama-b'
    ]).pair_list == [('aim-600m', 'visionllama-b')]
    assert bench.parse_args(['--models', 'visionllama-b,timm-vit-b16', '--pairs',
                             '']).pair_list == []
    for bad in (['--models', 'no-such-model'],
                ['--models', 'visionllama-b,timm-vit-b16', '--pairs', 'visionllama-b'],
                ['--models', 'visionllama-b', '--pairs', 'visionllama-b:timm-vit-b16'
                 ], ['--models', 'visionllama-b', '--repeats', '0']):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
    # models linked through a shared partner are timed in one group
    assert bench.comparison_groups(['a', 'b', 'c', 'd', 'e'],
                                   [('a', 'c'), ('d', 'c')]) == [['a', 'c', 'd'], ['b'],
                                                                 ['e']]
    rows = [
        dict(model='visionllama-b', mode='eager', img_s=950., mfu=0.3),
        dict(model='timm-vit-b16', mode='eager', img_s=1000., mfu=0.3),
        dict(model='aim-600m', mode='eager', img_s=1., mfu=0.41),
        dict(model='vitg-G14', mode='eager', error='OOM')
    ]
    goals = {text: (round(value, 3), met) for text, value, met in bench.check_goals(rows)}
    assert goals == {
        'VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16': (0.95, True),
        'AIM-600M MFU >= 0.40 eager': (0.41, True)
    }
    # where the pair was timed interleaved, the goal takes its median ratio
    pairs = [
        dict(
            a='visionllama-b',
            b='timm-vit-b16',
            mode='eager',
            metric='img_s',
            median=0.85,
            min=0.8,
            max=0.97)
    ]
    goals = {text: (value, met) for text, value, met in bench.check_goals(rows, pairs)}
    assert goals['VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16'] == (0.85, False)
