"""tools/analysis_tools/benchmark.py ``--bench forward`` and ``--bench train`` on the
CPU with tiny presets: the models and references it builds, the interleaved
repetitions, the per-repetition ratios, the tables, the JSON and the goal checks (the
logic, not the timings; the real runs are ``make benchmark`` and
tools/misc/gpu_bench.sh). ``--bench e2e`` is tested beside get_flops.py in
test_analysis_tools.py.
"""
import importlib.util
import json
import statistics
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'benchmark.py'
DEMO_CONFIG = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'


# (fixture names avoid `benchmark`, which pytest-benchmark owns where installed)
@pytest.fixture(scope='module')
def bench_tool():
    spec = importlib.util.spec_from_file_location('_tool_benchmark', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_ratios(result, table, kind):
    """Each pair's ratios are those of the same repetitions of its two models."""
    found = {(r['model'], r['mode']): r for r in result['rows']}
    phases = {'time': ('fwd', 'fwd_bwd'), 'img_s': ('train', )}[kind]
    for pair in result['pairs']:
        a, b = found[(pair['a'], pair['mode'])], found[(pair['b'], pair['mode'])]
        phase = pair['metric'][:-len(kind) - 1]
        assert phase in phases and pair['metric'].endswith(kind)
        ta, tb = a[f'{phase}_rep_ms'], b[f'{phase}_rep_ms']
        expected = [x / y for x, y in zip(ta, tb)] if kind == 'time' else \
            [(a['batch_size'] / x) / (b['batch_size'] / y) for x, y in zip(ta, tb)]
        assert pair['ratios'] == pytest.approx(expected)
        assert pair['median'] == pytest.approx(statistics.median(expected))
        assert (pair['min'], pair['max']) == pytest.approx((min(expected), max(expected)))
        line = next(line for line in table.splitlines()
                    if line.startswith(f"| {pair['a']} / {pair['b']} | {pair['mode']} |"))
        assert f"| {pair['median']:.3f}x ({pair['min']:.3f}-{pair['max']:.3f}) |" in line


def test_forward_against_same_size_mm_backbones(bench_tool, tmp_path):
    """`make benchmark`'s run: each backbone and the upstream one of its dims."""
    result = bench_tool.main([
        '--bench', 'forward', 'visionllama-tiny', 'pyramid-visionllama-tiny',
        '--batch-size', '1', '--warmup', '0', '--repeats', '3', '--out-dir',
        str(tmp_path)
    ])
    assert json.loads((tmp_path / 'results.json').read_text()) == result
    table = (tmp_path / 'results.md').read_text()
    vit = 'mmpretrain ViT (visionllama-tiny size)'
    svt = 'mmseg Twins-SVT (pyramid-visionllama-tiny dims)'
    rows = result['rows']
    assert [r['model']
            for r in rows] == ['visionllama-tiny', vit, 'pyramid-visionllama-tiny', svt]
    for row in rows:
        assert 'error' not in row, row
        assert row['batch_size'] == 1 and row['shape'] == [32, 32]
        assert row['params_m'] > 0 and row['gflops'] > 0
        for phase in ('fwd', 'fwd_bwd'):
            assert len(row[f'{phase}_rep_ms']) == 3
            assert row[f'{phase}_ms'] == pytest.approx(sorted(row[f'{phase}_rep_ms'])[1])
            assert row[f'{phase}_img_s'] == pytest.approx(1e3 / row[f'{phase}_ms'])
        assert f"| {row['model']} | eager | 1 | 32x32 | {row['params_m']:.1f} |" in table
    assert [(p['a'], p['b'], p['metric']) for p in result['pairs']
            ] == [('visionllama-tiny', vit, 'fwd_time'),
                  ('visionllama-tiny', vit, 'fwd_bwd_time'),
                  ('pyramid-visionllama-tiny', svt, 'fwd_time'),
                  ('pyramid-visionllama-tiny', svt, 'fwd_bwd_time')]
    _check_ratios(result, table, 'time')


def test_references_have_the_dims_of_the_model(bench_tool, tmp_path):
    args = bench_tool.parse_args(['--bench', 'forward'])
    vit = bench_tool.mm_reference(bench_tool.model_spec('visionllama-tiny', args))
    assert vit['model']['arch'] == dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256)
    assert (vit['model']['patch_size'], vit['scope']) == (8, 'mmpretrain')
    svt = bench_tool.mm_reference(bench_tool.model_spec('pyramid-visionllama-tiny', args))
    assert svt['scope'] == 'mmseg' and svt['model']['embed_dims'] == [16, 32]
    assert (svt['model']['depths'], svt['model']['num_heads']) == ([2, 2], [1, 2])
    assert (svt['model']['sr_ratios'], svt['model']['windiow_sizes']) == ([2, 1], [4, 4])
    # a config's model.backbone, its image size and train batch, without its
    # pretrained weights
    config = tmp_path / 'pretrained.py'
    config.write_text(f"_base_ = ['{Path(DEMO_CONFIG).resolve()}']\n"
                      'model = dict(backbone=dict(init_cfg=dict(type="Pretrained", '
                      'checkpoint="https://example.invalid/w.pth")))\n')
    spec = bench_tool.model_spec(str(config), args)
    assert spec['model']['type'] == 'VisionLLaMA' and spec['model']['init_cfg'] is None
    assert (spec['size'], spec['batch'], spec['scope']) == (32, 64, 'mmpretrain')
    spec = bench_tool.model_spec(DEMO_CONFIG, args)
    specs = {DEMO_CONFIG: spec}
    pairs, notes = bench_tool.add_references(specs, 'mm')
    assert pairs == [(DEMO_CONFIG, f'mmpretrain ViT ({DEMO_CONFIG} size)')]
    assert specs[pairs[0][1]]['model']['arch']['num_layers'] == 4 and not notes
    # --ref timm: the presets' timm models join; a model without one is timed alone
    specs = {
        name: bench_tool.model_spec(name, args)
        for name in ('visionllama-b', 'aim-600m', DEMO_CONFIG)
    }
    pairs, notes = bench_tool.add_references(specs, 'timm')
    assert pairs == [('visionllama-b', 'timm-vit-b16'),
                     ('visionllama-b', 'timm-eva02-b14')]
    assert list(specs)[3:] == ['timm-vit-b16', 'timm-eva02-b14']
    assert notes == [
        f'{name}: no timm reference, timed alone' for name in ('aim-600m', DEMO_CONFIG)
    ]


def test_train_tiny_presets(bench_tool, tmp_path):
    """Every tiny preset takes training steps, timed interleaved with its timm
    reference."""
    result = bench_tool.main([
        '--bench', 'train', 'visionllama-tiny', 'pyramid-visionllama-tiny', 'aim-tiny',
        'vitg-tiny', '--device', 'cpu', '--precision', 'fp32', '--steps', '1',
        '--repeats', '2', '--warmup', '1', '--out-dir',
        str(tmp_path), '--batch-size', 'visionllama-tiny=2,timm-vit-tiny=1'
    ])
    rows = result['rows']
    # a model and its reference form one group, timed together; the others alone
    assert [r['model'] for r in rows] == [
        'visionllama-tiny', 'aim-tiny', 'timm-vit-tiny', 'pyramid-visionllama-tiny',
        'vitg-tiny'
    ]
    assert result['notes'] == [
        'pyramid-visionllama-tiny: no timm reference, timed alone',
        'vitg-tiny: no timm reference, timed alone'
    ]
    batches = {'visionllama-tiny': 2, 'timm-vit-tiny': 1}
    for row in rows:
        assert 'error' not in row, row
        # --batch-size overrides two presets; the others keep theirs (4)
        assert row['batch_size'] == batches.get(row['model'], 4)
        assert row['train_img_s'] > 0 and len(row['train_rep_ms']) == 2
        assert row['train_ms'] == pytest.approx(statistics.median(row['train_rep_ms']))
        assert row['tflop_per_step'] > 0 and row['mfu'] > 0 and row['mfu_vs_measured'] > 0
    # activation checkpointing (vitg-tiny) recomputes the forward in the backward
    recompute = {
        r['model']: r['tflop_per_step'] / r['model_tflop_per_step']
        for r in rows
    }
    assert recompute['vitg-tiny'] > recompute['aim-tiny'] + 0.1
    data = json.loads((tmp_path / 'results.json').read_text())
    assert data == json.loads(json.dumps(result)) and data['device'] == 'cpu'
    assert (data['repeats'], data['steps'], data['bench']) == (2, 1, 'train')
    assert [(p['a'], p['b'], p['mode']) for p in data['pairs']
            ] == [(a, 'timm-vit-tiny', 'eager') for a in ('visionllama-tiny', 'aim-tiny')]
    table = (tmp_path / 'results.md').read_text()
    assert '| visionllama-tiny | eager | 2 |' in table
    _check_ratios(result, table, 'img_s')


@pytest.mark.slow
def test_train_compiled_beside_eager(bench_tool, tmp_path):
    """``--compile``: a compiled row per model sharing the eager model's weights."""
    result = bench_tool.main([
        '--bench', 'train', 'visionllama-tiny', '--ref', 'none', '--device', 'cpu',
        '--precision', 'fp32', '--repeats', '1', '--steps', '1', '--warmup', '1',
        '--compile', '--compile-backend', 'aot_eager', '--no-measure-peak', '--out-dir',
        str(tmp_path)
    ])
    eager, compiled = result['rows']
    assert (eager['mode'], compiled['mode']) == ('eager', 'compile')
    assert 'error' not in compiled and compiled['train_img_s'] > 0
    assert compiled['tflop_per_step'] == eager['tflop_per_step']
    assert 'mfu_vs_measured' not in compiled and result['measured_peak_tflops'] is None


def test_arguments_and_goals(bench_tool):
    args = bench_tool.parse_args([
        '--bench', 'train', 'visionllama-b', 'timm-vit-b16', '--batch-size',
        'visionllama-b=128', '--compile'
    ])
    assert args.batch_sizes == {'visionllama-b': 128}
    assert args.mode_list == ['eager', 'compile']
    assert (args.device, args.ref, args.precision) == ('cuda', 'timm', 'bf16')
    assert (args.warmup, args.repeats, args.steps) == (3, 5, 4)
    assert args.out_dir == 'work_dirs/benchmark_train'
    forward = bench_tool.parse_args(['--bench', 'forward', '--batch-size', '2'])
    assert forward.models == ['visionllama-b'] and forward.ref == 'mm'
    assert (forward.device, forward.repeats, forward.batch_sizes) == ('cpu', 10, {'*': 2})
    e2e = bench_tool.parse_args([DEMO_CONFIG, '--shape', '64', '48'])
    assert (e2e.bench, e2e.ref, e2e.size, e2e.models) == ('e2e', 'none', (64, 48),
                                                          [DEMO_CONFIG])
    assert set(bench_tool.DEFAULT_MODELS['train']) >= {
        'visionllama-b', 'pyramid-visionllama-b', 'aim-600m', 'vitg-G14', 'timm-vit-b16',
        'timm-eva02-b14', 'timm-vit-l16', 'timm-vit-g14', 'timm-twins-svt-b',
        'timm-vit-G14'
    }
    bad_args = [
        ['--bench', 'train', 'no-such-model'],
        ['--bench', 'train', 'visionllama-b', '--batch-size', 'aim-tiny=x'],
        ['--bench', 'train', 'visionllama-b', '--batch-size', 'no-such=2'],
        ['--bench', 'train', '--repeats', '0'],
        ['--bench', 'e2e'],
        [DEMO_CONFIG, '--ref', 'mm'],
        [DEMO_CONFIG, '--compile'],
        ['--bench', 'forward', '--peak-tflops', '100'],
        ['--bench', 'forward', '--modes', 'jit'],
        ['--bench', 'forward', '--compile-backend', 'eager'],
        ['no/such/config.py'],
    ]
    for bad in bad_args:
        with pytest.raises(SystemExit):
            bench_tool.parse_args(bad)
    rows = [
        dict(model='visionllama-b', mode='eager', train_img_s=950., mfu=0.3),
        dict(model='timm-vit-b16', mode='eager', train_img_s=1000., mfu=0.3),
        dict(model='aim-600m', mode='eager', train_img_s=1., mfu=0.41),
        dict(model='vitg-G14', mode='eager', batch_size=64, error='OOM')
    ]
    goals = {
        text: (round(value, 3), met)
        for text, value, met in bench_tool.check_goals(rows)
    }
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
            metric='train_img_s',
            median=0.85,
            min=0.8,
            max=0.97)
    ]
    goals = {
        text: (value, met)
        for text, value, met in bench_tool.check_goals(rows, pairs)
    }
    assert goals['VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16'] == (0.85, False)
    # a failed model shows its error in the table
    table = bench_tool.rows_table(rows[3:], bench_tool.COLUMNS['train'])
    assert '| vitg-G14 | eager | 64 | OOM | - |' in table
