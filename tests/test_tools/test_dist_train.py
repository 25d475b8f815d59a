"""2-process data-parallel training (torchrun, gloo, CPU) through tools/dist_train.sh
equals single-process training with the same global batch.

Same seed and data order everywhere: ``DefaultSampler(shuffle=True, seed=0)`` draws one
permutation and rank ``r`` of ``w`` takes ``perm[r::w]``, so the two ranks' batches of
8 together are the single process's batch of 16. The loss is a mean over the local
batch and DDP averages the gradients, so after a few SGD steps (no random
augmentation, no dropout / drop path, no BatchNorm) the weights agree to float
rounding. Compared: the saved weights and the logged gradient norms (rank 0 logs
the norm of the all-reduced gradient); the logged loss is rank 0's local loss only.
"""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

DEMO = Path('configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py').resolve()
STEPS = 3

DERIVED = f"""
_base_ = [{str(DEMO)!r}]
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=16, dataset=dict(pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
optim_wrapper = dict(
    _delete_=True, optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
    clip_grad=dict(max_norm=5.0))
param_scheduler = None
train_cfg = dict(_delete_=True, by_epoch=False, max_iters={STEPS})
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval={STEPS}, by_epoch=False))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run(cmd, env):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _grad_norms(log: str):
    """``grad_norm`` of each logged iteration: the norm of the (averaged) gradient."""
    return [float(v) for v in re.findall(r'Iter\(train\).*grad_norm: ([0-9.]+)', log)]


def _weights(work_dir: Path):
    ckpt = torch.load(
        work_dir / f'iter_{STEPS}.pth', map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def test_two_process_cpu_training_matches_single_process(tmp_path):
    config = tmp_path / 'dist_equivalence.py'
    config.write_text(DERIVED)
    env = dict(
        os.environ, OMP_NUM_THREADS='1', PORT=str(_free_port()), PYTHON=sys.executable)

    single = tmp_path / 'single'
    single_log = _run(
        [sys.executable, 'tools/train.py',
         str(config), '--work-dir',
         str(single)], env)
    assert f'Iter(train) [{STEPS}/{STEPS}]' in single_log
    dist = tmp_path / 'dist'
    log = _run([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(dist), '--cfg-options', 'train_dataloader.batch_size=8'
    ], env)
    assert 'gloo' in log

    assert f'Iter(train) [{STEPS}/{STEPS}]' in log
    # rank 0 logs the norm of the all-reduced gradient: the single process's one
    assert len(_grad_norms(log)) == STEPS
    assert _grad_norms(log) == pytest.approx(_grad_norms(single_log), abs=2e-4)
    want, got = _weights(single), _weights(dist)
    assert want.keys() == got.keys() and len(want) > 10
    for name, value in want.items():
        torch.testing.assert_close(got[name], value, atol=1e-5, rtol=1e-4, msg=name)
