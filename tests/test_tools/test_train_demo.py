"""The demo classification config through the real tools: train, resume, test."""
import subprocess
import sys

CONFIG = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'


def run(*args):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_demo_trains_resumes_and_tests(tmp_path):
    work = tmp_path / 'demo'
    short = [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1'
    ]
    log = run('tools/train.py', CONFIG, '--work-dir', str(work), '--cfg-options', *short)
    assert (work / 'epoch_1.pth').is_file()
    assert 'accuracy/top1' in log
    metrics = run('tools/misc/print_metrics.py', str(work))
    assert 'final accuracy/top1' in metrics

    # resume the run (its weights-only checkpoint) for one more epoch
    log = run('tools/train.py', CONFIG, '--work-dir', str(work), '--resume',
              '--cfg-options', 'train_cfg.max_epochs=2', *short[1:])
    assert 'resumed' in log.lower() and (work / 'epoch_2.pth').is_file()
    assert 'Epoch(train) [2]' in log and 'Epoch(train) [1]' not in log

    log = run('tools/test.py', CONFIG, str(work / 'epoch_2.pth'), '--work-dir',
              str(tmp_path / 'test'))
    assert 'accuracy/top1' in log
