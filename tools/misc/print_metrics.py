"""Print the last validation metrics of the newest run in an mmengine work dir.

Reads ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (written by the
``LocalVisBackend`` of every MM default runtime) and prints the final evaluation
line, e.g. ``final accuracy/top1: 87.00 (epoch 50)``; exits 1 when there is none.

Usage: python tools/misc/print_metrics.py WORK_DIR
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, Optional

TRAIN_KEYS = {'lr', 'base_lr', 'loss', 'grad_norm', 'epoch', 'iter', 'memory'}


def last_eval(work_dir: Path) -> Optional[Dict]:
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not runs:
        return None
    evals = [
        json.loads(line) for line in runs[-1].read_text().splitlines() if line.strip()
    ]
    evals = [e for e in evals if not TRAIN_KEYS & set(e)]
    return evals[-1] if evals else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', type=Path)
    metrics = last_eval(parser.parse_args().work_dir)
    if metrics is None:
        sys.exit('no evaluation found: did the run finish?')
    step = metrics.pop('step', '?')
    shown = {k: v for k, v in metrics.items() if k not in ('data_time', 'time')}
    print(', '.join(f'final {k}: {v:.2f}' for k, v in shown.items()) + f' (step {step})')


if __name__ == '__main__':
    main()
