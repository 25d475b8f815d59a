"""``fileio.load_training_checkpoint``: the release's training checkpoints are read
weights-only with an explicit allow-list, and anything else is refused by name.

The allowed objects: the DeiT-code files' ``argparse.Namespace``; mmengine's message
hub (``HistoryBuffer`` read as an inert record, its statistics methods answered by
name, numpy arrays of float64 / int64); numpy scalars. Files written with numpy 1 name
``numpy.core.multiarray``: the test rewrites a pickle to those names.
"""
import argparse
import os
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from visionllama_mm.errors import CheckpointLoadError
from visionllama_mm.fileio import (TRAINING_CHECKPOINT_GLOBALS, PickledRecord,
                                   load_checkpoint_file, load_training_checkpoint)


def message_hub_checkpoint() -> dict:
    hub = MessageHub('release-test')
    for value in (1.0, 0.5, 0.25):
        hub.update_scalar('train/loss', value)
    hub.update_info('epoch', 800)
    return {
        'state_dict': {
            'w': torch.arange(4.)
        },
        'message_hub': hub.state_dict(),
        'meta': {
            'cfg': "raise SystemExit('config text ran')",
            'seed': np.int64(7),
            'lr': np.float64(1.5e-4)
        }
    }


def save(obj, path, numpy1_names: bool = False) -> str:
    """``torch.save``; ``numpy1_names`` rewrites the pickle's numpy globals to the
    names numpy 1 wrote (``numpy.core.multiarray``)."""
    torch.save(obj, path)
    if numpy1_names:
        with zipfile.ZipFile(path) as src:
            entries = [(info, src.read(info)) for info in src.infolist()]
        with zipfile.ZipFile(path, 'w') as dst:
            for info, data in entries:
                if info.filename.endswith('data.pkl'):
                    assert b'numpy._core.multiarray' in data
                    data = data.replace(b'numpy._core.multiarray',
                                        b'numpy.core.multiarray')
                dst.writestr(info, data)
    return str(path)


def test_deit_checkpoint_with_namespace(tmp_path):
    args = argparse.Namespace(model='pllama_wols_small_patch16', lr=1e-3, clip_grad=None)
    path = save({
        'model': {
            'w': torch.ones(3)
        },
        'args': args,
        'epoch': 299
    }, tmp_path / 'best_checkpoint.pth')
    with pytest.raises(CheckpointLoadError, match='argparse.Namespace'):
        load_checkpoint_file(path)  # plain weights-only reading refuses it
    checkpoint = load_training_checkpoint(path)
    assert checkpoint['args'] == args and torch.equal(checkpoint['model']['w'],
                                                      torch.ones(3))


@pytest.mark.parametrize('numpy1_names', [False, True], ids=['numpy2', 'numpy1'])
def test_mmengine_checkpoint_with_message_hub(tmp_path, numpy1_names):
    path = save(message_hub_checkpoint(), tmp_path / 'epoch_800.pth', numpy1_names)
    statistics = dict(HistoryBuffer._statistics_methods)
    checkpoint = load_training_checkpoint(path)
    record = checkpoint['message_hub']['log_scalars']['train/loss']
    assert type(record) is PickledRecord  # mmengine's class is never built
    np.testing.assert_array_equal(record._log_history, [1.0, 0.5, 0.25])
    assert record.statistics_methods['mean'] == 'HistoryBuffer.mean'
    assert HistoryBuffer._statistics_methods == statistics  # no class state touched
    assert checkpoint['meta']['seed'] == 7
    assert 'cfg' not in checkpoint['meta']  # the config text is removed unread
    assert torch.equal(checkpoint['state_dict']['w'], torch.arange(4.))


class RunsCode:

    def __reduce__(self):
        return (os.system, ('touch RAN', ))


class ReachesAttribute:

    def __reduce__(self):
        return (getattr, (argparse.Namespace, '__init__'))


@pytest.mark.parametrize(
    'payload, named', [
        (RunsCode(), 'GLOBAL posix.system'),
        (ReachesAttribute(), "getattr\\('Namespace', '__init__'\\)"),
        (np.array(['a', None], dtype=object), 'ObjectDType'),
        (np.float32(2.0), 'Float32DType'),
        (torch.nn.Identity(), 'torch.nn.modules.linear.Identity'),
    ],
    ids=['os.system', 'getattr', 'object-array', 'float32', 'module'])
def test_anything_else_is_refused_by_name(tmp_path, monkeypatch, payload, named):
    monkeypatch.chdir(tmp_path)
    checkpoint = message_hub_checkpoint()
    checkpoint['meta']['extra'] = payload
    path = save(checkpoint, tmp_path / 'epoch_1.pth')
    with pytest.raises(CheckpointLoadError, match=named) as err:
        load_training_checkpoint(path)
    assert 'argparse.Namespace' in str(err.value)  # what is allowed is listed
    assert not (tmp_path / 'RAN').exists()


def test_every_allowed_global_says_why():
    names = [name for _, name, _ in TRAINING_CHECKPOINT_GLOBALS]
    assert len(names) == len(set(names))
    assert 'builtins.getattr' in names and all(
        obj is not getattr for obj, _, _ in TRAINING_CHECKPOINT_GLOBALS)
    assert all(len(reason) > 20 for _, _, reason in TRAINING_CHECKPOINT_GLOBALS)


def test_truncated_file(tmp_path):
    path = save(message_hub_checkpoint(), tmp_path / 'epoch_800.pth')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CheckpointLoadError, match='truncated'):
        load_training_checkpoint(path)
