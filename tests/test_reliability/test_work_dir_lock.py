"""One training run per work dir (issue 22 item 5): a second run is refused with the
holder's PID and host, the lock is released when a run ends (also by an error), and a
lock left by a SIGKILLed run is taken over with a warning."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from reliability_helpers import PAUSED, finish, make_config, start, train_cmd
from torch.utils.data import Dataset

from visionllama_mm.engine import ReliableRunner
from visionllama_mm.engine.work_dir_lock import LOCK_FILE, WorkDirLock
from visionllama_mm.errors import LaunchError

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SHORT = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
    'val_dataloader.dataset.indices=4', 'train_cfg.val_interval=10',
    'default_hooks.checkpoint.interval=1', 'train_cfg.max_epochs=2'
]


def wait_for(path, proc, text, timeout=300):
    deadline = time.time() + timeout
    while text not in path.read_text():
        assert proc.poll() is None, path.read_text()[-3000:]
        assert time.time() < deadline, 'no kill point within the timeout'
        time.sleep(0.1)


@pytest.mark.slow
def test_second_run_is_refused_and_a_killed_runs_lock_is_taken_over(tmp_path):
    work = tmp_path / 'work'
    pausing = make_config(tmp_path, CLS, 'pausing', [dict(type='PauseHook', at_iter=3)])
    first = start(train_cmd(pausing, work, *SHORT), tmp_path / 'first.log')
    try:
        wait_for(tmp_path / 'first.log', first[0], PAUSED)
        rc, log = finish(start(train_cmd(CLS, work, *SHORT), tmp_path / 'second.log'))
        assert rc != 0, log[-3000:]
        assert f'work_dir {work} is in use by another training run: PID ' \
            f'{first[0].pid} on host {socket.gethostname()}' in log, log[-3000:]
        assert 'Traceback' not in log.split('train.py: error:')[-1]
        assert (work / 'epoch_1.pth').is_file()  # the first run's files, untouched
    finally:
        first[0].send_signal(signal.SIGKILL)
        finish(first)

    assert json.loads((work / LOCK_FILE).read_text())['pid'] == first[0].pid
    rc, log = finish(
        start(train_cmd(CLS, work, *SHORT, resume='auto'), tmp_path / 'third.log'))
    assert rc == 0, log[-3000:]
    assert f'taking over the stale lock {work / LOCK_FILE} of a run that ended ' \
        f'without releasing it: PID {first[0].pid}' in log
    assert not (work / LOCK_FILE).exists()  # released at the end


HOLD = '''
import sys, time
from visionllama_mm.engine.work_dir_lock import WorkDirLock
with WorkDirLock(sys.argv[1]):
    print('held', flush=True)
    time.sleep(600)
'''


@pytest.mark.slow
def test_lock_refuses_other_processes_and_this_one(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c', HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(LaunchError, match=f'PID {holder.pid} on host'):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        holder.kill()
        holder.wait()
    warnings = []
    lock = WorkDirLock(str(tmp_path), warn=warnings.append)
    with lock:  # the killed holder's file: stale
        assert f'PID {holder.pid}' in warnings[0]
        with pytest.raises(LaunchError, match='another run in this process'):
            WorkDirLock(str(tmp_path)).acquire()
    assert not (tmp_path / LOCK_FILE).exists()
    with WorkDirLock(str(tmp_path), warn=warnings.append):
        assert len(warnings) == 1  # released cleanly: nothing stale


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, mode='tensor'):
        return {'loss': self.linear(torch.stack(inputs)).sum()}


class Toy(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2))


class FailingHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        assert (runner.work_dir
                and os.path.isfile(os.path.join(runner.work_dir, LOCK_FILE)))
        raise RuntimeError('a run that fails')


@pytest.mark.slow
def test_lock_is_released_when_training_fails(tmp_path):
    runner = ReliableRunner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Toy(), sampler=dict(type='DefaultSampler'), batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        custom_hooks=[FailingHook()],
        default_hooks=dict(checkpoint=None))
    with pytest.raises(RuntimeError, match='a run that fails'):
        runner.train()
    assert not (tmp_path / LOCK_FILE).exists()
    with WorkDirLock(str(tmp_path)):
        pass
