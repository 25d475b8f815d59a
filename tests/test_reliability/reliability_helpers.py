"""Test-only hooks loaded into tools/train.py subprocesses through ``custom_imports``
(``PYTHONPATH`` holds this directory), and helpers to drive and compare runs."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

HERE = Path(__file__).resolve().parent
PAUSED = 'RELIABILITY-TEST PAUSED'


@HOOKS.register_module(force=True)
class PauseHook(Hook):
    """After training iteration ``at_iter`` (1-based, after the checkpoint hook) print
    a marker and sleep, so the test can SIGKILL the process at a known point."""
    priority = 'LOWEST'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            print(f'{PAUSED} after iteration {self.at_iter}', flush=True)
            time.sleep(600)


@HOOKS.register_module(force=True)
class KillDuringSaveHook(Hook):
    """At the checkpoint of iteration ``at_iter``, write half of the file's bytes and
    SIGKILL this process mid-write (a crash during ``torch.save``)."""

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta'].get('iter') != self.at_iter:
            return

        def dying_put(backend, obj, filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            print(f'{PAUSED} killing myself while writing {filepath}', flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        LocalBackend.put = dying_put


def env():
    return dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONUNBUFFERED='1',
        PYTHONPATH=os.pathsep.join([str(HERE),
                                    os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep))


def upstream_tool(package, script):
    """Path of an OpenMMLab package's own tool, shipped in its wheel under ``.mim``."""
    import importlib
    root = Path(importlib.import_module(package).__file__).parent
    path = root / '.mim' / 'tools' / script
    assert path.is_file(), f'{package} wheel has no {path}'
    return str(path)


def train_cmd(config, work_dir, *options, resume=None, tool='tools/train.py'):
    """``tool`` (ours by default, or an upstream ``.../.mim/tools/train.py``)."""
    cmd = [sys.executable, tool, config, '--work-dir', str(work_dir)]
    if resume is not None:
        cmd += ['--resume'] + ([resume] if resume != 'auto' else [])
    return cmd + ['--cfg-options', *options]


def start(cmd, log_path):
    log = open(log_path, 'w')
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env()), log


def finish(proc_log, timeout=300):
    proc, log = proc_log
    rc = proc.wait(timeout=timeout)
    log.close()
    return rc, Path(log.name).read_text()


def run_until_marker_then_kill(cmd, log_path, timeout=300):
    """Start ``cmd``, wait for the PauseHook marker, SIGKILL it. Returns the log."""
    proc, log = start(cmd, log_path)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            text = Path(log_path).read_text()
            if PAUSED in text:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.poll() is not None:
                raise AssertionError('the run ended before the kill point:\n' +
                                     text[-3000:])
            time.sleep(0.1)
        else:
            raise AssertionError('no kill point within the timeout')
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    return Path(log_path).read_text()


TIME_KEYS = {'time', 'data_time', 'eta', 'memory'}


def logged_train_scalars(work_dir):
    """``{step: {key: value}}`` of the training lines of every scalars.json under
    ``work_dir`` (several runs of a resumed work dir; later runs overwrite)."""
    steps = {}
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if not any(k.startswith('loss') for k in record):
                continue
            steps[record['step']] = {
                k: v
                for k, v in record.items() if k not in TIME_KEYS
            }
    return steps


def assert_same(a, b, where='checkpoint'):
    """Bit-identical nested dicts / lists of tensors and plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, set(a) ^ set(b))
        for key in a:
            assert_same(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and np.array_equal(a, b), where
    else:
        assert a == b, (where, a, b)


def train_args(config, work_dir, **cfg_options):
    """The train tool's parsed arguments for ``config`` (for
    ``prepare_train_config``, in process): no resume, no AMP, ``--cfg-options`` from
    the keywords."""
    import argparse
    return argparse.Namespace(
        config=config,
        work_dir=str(work_dir),
        launcher='none',
        amp=False,
        auto_scale_lr=False,
        resume=None,
        cfg_options=cfg_options or None)


def make_config(directory, base, name, custom_hooks=()):
    """A config inheriting ``base`` (repo path) that imports these test hooks."""
    path = Path(directory) / f'{name}.py'
    path.write_text(
        f'_base_ = [{str(Path(base).resolve())!r}]\n'
        "custom_imports = dict(imports=['visionllama_mm', 'reliability_helpers'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = {list(custom_hooks)!r}\n')
    return str(path)


@HOOKS.register_module(force=True)
class NaNAtIterHook(Hook):
    """Poison a weight before training iteration ``at_iter`` (1-based)."""

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


@HOOKS.register_module(force=True)
class NaNWeightsAfterIterHook(Hook):
    """After training iteration ``at_iter`` (its optimizer step done, before its
    checkpoint is written) put a NaN into a weight: a step that diverged while its
    loss was still finite."""
    priority = 'NORMAL'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            with torch.no_grad():
                next(runner.model.parameters()).view(-1)[0] = float('nan')
