"""What a checkpoint file can do to a run (issue 22 items 1 and 3).

No code from text inside a checkpoint: a clean weights-only checkpoint whose
``meta['config']``, ``meta['cfg']`` and ``message_hub['runtime_info']['cfg']`` hold
Python that creates a marker file is resumed (``--resume FILE``, auto-resume through
``last_checkpoint``, mmpretrain's own ``tools/train.py`` with the configs'
``ReliableRunner``), tested and published: the marker never appears, and the text is
not carried into the files the run writes. Integrity: a finite weight changed in a
checkpoint (SHA-256 per tensor) or a changed published file (hash in its name) is an
error naming the file (and the tensor) instead of a silent 0 % accuracy; auto-resume
falls back from a changed latest checkpoint.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from reliability_helpers import env, upstream_tool

pytestmark = pytest.mark.slow  # tools/train.py, tools/test.py and inferencer processes
CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SHORT = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
    'val_dataloader.dataset.indices=4', 'test_dataloader.dataset.indices=4',
    'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=1',
    'default_hooks.logger.interval=1'
]


def run(*args, timeout=600):
    result = subprocess.run([sys.executable, *args],
                            capture_output=True,
                            text=True,
                            env=env(),
                            timeout=timeout)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A two-epoch run: ``epoch_1.pth`` and ``epoch_2.pth``."""
    work = tmp_path_factory.mktemp('trained')
    rc, log = run('tools/train.py', CLS, '--work-dir', str(work), '--cfg-options', *SHORT,
                  'train_cfg.max_epochs=2')
    assert rc == 0, log[-3000:]
    return work


def with_config_text(src, dst, marker):
    """``src`` with Python that creates ``marker`` wherever mmengine keeps config
    text; every tensor unchanged (the SHA-256 record still holds)."""
    checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    code = f'open({str(marker)!r}, "w").close()\n'
    checkpoint['meta']['config'] = code  # Runner.resume executes this one
    checkpoint['meta']['cfg'] = code
    checkpoint['message_hub']['runtime_info']['cfg'] = code
    torch.save(checkpoint, dst)
    return dst


def texts(value):
    """Every string inside a loaded checkpoint."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from texts(item)


RESUMES = {
    'tools/train.py --resume FILE': ('tools/train.py', 'file'),
    'tools/train.py --resume (last_checkpoint)': ('tools/train.py', 'auto'),
    "mmpretrain's tools/train.py --resume FILE": (('mmpretrain', 'train.py'), 'file'),
}


@pytest.mark.parametrize('path', list(RESUMES))
def test_resume_never_runs_config_text(path, trained, tmp_path):
    tool, how = RESUMES[path]
    tool = upstream_tool(*tool) if isinstance(tool, tuple) else tool
    marker, work = tmp_path / 'PWNED', tmp_path / 'work'
    work.mkdir()
    evil = with_config_text(trained / 'epoch_1.pth', work / 'epoch_1.pth', marker)
    (work / 'last_checkpoint').write_text(str(evil))
    resume = ['--resume'] + ([str(evil)] if how == 'file' else [])
    rc, log = run(tool, str(Path(CLS).resolve()), '--work-dir', str(work), *resume,
                  '--cfg-options', *SHORT, 'train_cfg.max_epochs=2')
    assert not marker.exists()
    assert rc == 0, log[-3000:]
    assert 'resumed epoch: 1' in log and "removed meta['config']" in log
    # the run's own config text, not the file's, goes into its next checkpoint
    written = torch.load(work / 'epoch_2.pth', weights_only=True)
    assert not any(str(marker) in text for text in texts(written))


def test_testing_and_publishing_never_run_config_text(trained, tmp_path):
    marker = tmp_path / 'PWNED'
    evil = with_config_text(trained / 'epoch_1.pth', tmp_path / 'evil.pth', marker)
    rc, log = run('tools/test.py', CLS, str(evil), '--work-dir', str(tmp_path / 'test'),
                  '--cfg-options', *SHORT)
    assert rc == 0 and 'accuracy/top1' in log, log[-3000:]

    rc, log = run('tools/model_converters/publish_model.py', str(evil),
                  str(tmp_path / 'published.pth'))
    assert rc == 0, log[-3000:]
    published = next(tmp_path.glob('published-*.pth'))
    data = torch.load(published, weights_only=True)
    assert set(data) == {'state_dict', 'meta'} and set(data['meta']) == {'dataset_meta'}
    assert not any(str(marker) in text for text in texts(data))
    assert not marker.exists()

    # mmdet's inferencer with model=None builds the model from config text in the
    # weights file: it runs the text of the training file (README, reliability.md)
    # and finds none in the published one
    infer = ('from mmdet.apis import DetInferencer\n'
             'DetInferencer(model=None, weights={!r})')
    run('-c', infer.format(str(published)))
    assert not marker.exists()
    run('-c', infer.format(str(evil)))
    assert marker.exists()


def test_our_api_never_builds_from_config_text(trained, tmp_path):
    from visionllama_mm.apis import get_model
    from visionllama_mm.errors import UserError
    marker = tmp_path / 'PWNED'
    evil = with_config_text(trained / 'epoch_1.pth', tmp_path / 'evil.pth', marker)
    with pytest.raises(UserError, match='never used'):  # the model=None pattern
        get_model(None, pretrained=str(evil))
    with pytest.raises(UserError):  # a weights file is no model name
        get_model(str(evil))
    model = get_model(CLS, pretrained=str(evil))  # weights only, from the file
    assert torch.equal(
        model.backbone.cls_token,
        torch.load(evil, weights_only=True)['state_dict']['backbone.cls_token'])
    assert not marker.exists()


def flipped(src, dst):
    """``src`` with one weight set to 3.4e38 (finite) and saved again as is."""
    checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    key = 'backbone.layers.0.attn.qkv.weight'
    checkpoint['state_dict'][key].view(-1)[0] = 3.4e38
    torch.save(checkpoint, dst)
    return dst, f"state_dict['{key}'] differs from the SHA-256"


def changed_published(src, dst):
    rc, log = run('tools/model_converters/publish_model.py', str(src), str(dst))
    assert rc == 0, log
    published = next(dst.parent.glob('published-*.pth'))
    checkpoint = torch.load(published, weights_only=True)
    checkpoint['state_dict']['backbone.cls_token'] += 1
    torch.save(checkpoint, published)
    return published, 'is named as a published file whose SHA-256 starts with'


@pytest.mark.parametrize('change', [flipped, changed_published])
def test_changed_checkpoint_is_an_error_naming_it(change, trained, tmp_path):
    path, message = change(trained / 'epoch_1.pth', tmp_path / 'published.pth')
    rc, log = run('tools/test.py', CLS, str(path), '--work-dir', str(tmp_path / 'test'),
                  '--cfg-options', *SHORT)
    assert rc != 0 and f'checkpoint {path}' in log and message in log, log[-3000:]
    assert 'Traceback' not in log and 'accuracy/top1' not in log


def test_auto_resume_falls_back_from_a_changed_latest_checkpoint(trained, tmp_path):
    work = tmp_path / 'work'
    shutil.copytree(trained, work)
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    _, message = flipped(work / 'epoch_2.pth', work / 'epoch_2.pth')
    rc, log = run('tools/train.py', CLS, '--work-dir', str(work), '--resume',
                  '--cfg-options', *SHORT, 'train_cfg.max_epochs=2')
    assert rc == 0, log[-3000:]
    assert f'cannot resume from {work / "epoch_2.pth"}' in log and message in log
    assert f'falling back to the previous checkpoint {work / "epoch_1.pth"}' in log
    assert 'resumed epoch: 1' in log
