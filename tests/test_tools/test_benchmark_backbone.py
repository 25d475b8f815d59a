"""tools/analysis_tools/benchmark_backbone.py on the CPU with tiny presets (smoke test).

The real run is on a GPU (``--device cuda``, docs/benchmarks.md); here every tiny
preset (ours and a timm ViT) takes eager and compiled (``aot_eager``) training steps,
and the JSON / Markdown outputs, the batch-size overrides and the goal checks are
checked.
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
    models = ['visionllama-tiny', 'pyramid-visionllama-tiny', 'aim-tiny', 'vitg-tiny',
              'timm-vit-tiny']
    rows = bench.main([
        '--device', 'cpu', '--precision', 'fp32', '--models', ','.join(models),
        '--batch-size', '2', '--steps', '1', '--warmup', '1', '--compile',
        '--compile-backend', 'aot_eager', '--out-dir', str(tmp_path)])
    assert [(r['model'], r['mode']) for r in rows] == [
        (m, mode) for m in models for mode in ('eager', 'compile')]
    for row in rows:
        assert 'error' not in row, row
        assert row['batch_size'] == 2 and row['img_s'] > 0
        assert row['tflop_per_step'] > 0 and row['mfu'] > 0
    # activation checkpointing (vitg-tiny) recomputes the forward in the backward
    vitg = next(r for r in rows if r['model'] == 'vitg-tiny')
    assert vitg['tflop_per_step'] > vitg['model_tflop_per_step']
    data = json.loads((tmp_path / 'results.json').read_text())
    assert len(data['rows']) == len(rows) and data['device'] == 'cpu'
    table = (tmp_path / 'results.md').read_text()
    assert '| visionllama-tiny | compile | 2 |' in table


def test_arguments_and_goals(bench):
    args = bench.parse_args(['--models', 'visionllama-b,timm-vit-b16',
                             '--batch-size', 'visionllama-b=128', '--compile'])
    assert args.batch_sizes == {'visionllama-b': 128}
    assert args.mode_list == ['eager', 'compile']
    assert set(bench.DEFAULT_MODELS) >= {
        'visionllama-b', 'pyramid-visionllama-b', 'aim-600m', 'vitg-G14',
        'timm-vit-b16', 'timm-eva02-b14', 'timm-vit-l16', 'timm-vit-g14',
        'timm-twins-svt-b', 'timm-vit-G14'}
    with pytest.raises(SystemExit):
        bench.parse_args(['--models', 'no-such-model'])
    rows = [dict(model='visionllama-b', mode='eager', img_s=950., mfu=0.3),
            dict(model='timm-vit-b16', mode='eager', img_s=1000., mfu=0.3),
            dict(model='aim-600m', mode='eager', img_s=1., mfu=0.41),
            dict(model='vitg-G14', mode='eager', error='OOM')]
    goals = {text: (round(value, 3), met) for text, value, met in bench.check_goals(rows)}
    assert goals == {
        'VisionLLaMA-B eager img/s >= 0.9x timm ViT-B/16': (0.95, True),
        'AIM-600M MFU >= 0.40 eager': (0.41, True)}
