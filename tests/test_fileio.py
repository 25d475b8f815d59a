"""Weights-only checkpoint files: the reversible encoding, clear load errors, no
code execution from a pickled file on any loading path of the package, the SHA-256
record of every tensor, published-file names, config text removed on load, and the
atomic file back end of AtomicCheckpointHook."""
import re
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from visionllama_mm.fileio import (ATOMIC_BACKEND, INTEGRITY_KEY, AtomicLocalBackend,
                                   CheckpointLoadError, file_sha256, from_weights_only,
                                   load_checkpoint_file, publish_checkpoint,
                                   register_atomic_backend, save_checkpoint_file,
                                   strip_config_text, to_weights_only)


def runner_like(tmp_path):
    """What mmengine 0.10.7's Runner.save_checkpoint puts into a checkpoint."""
    buffer = HistoryBuffer()
    for i in range(5):
        buffer.update(0.5 * i, count=2)
    rs = np.random.RandomState(3)
    return {
        'meta': {
            'epoch': 2,
            'seed': 7,
            'dataset_meta': {
                'classes': ('a', 'b')
            },
            'cfg': 'model = dict()',
            'best': np.float64(0.25)
        },
        'state_dict': OrderedDict(w=torch.arange(4.)),
        'message_hub': {
            'log_scalars':
            OrderedDict(loss=buffer),
            'runtime_info':
            OrderedDict(
                iter=3, keep_ckpt_ids=[1, 2], cfg=ConfigDict(a=1), score=np.int64(4)),
            'resumed_keys': {
                'loss': True,
                'iter': True
            }
        },
        'rng_state': {
            'numpy': rs.get_state(),
            'names': np.array(['x', 'yz'])
        },
    }


def test_encoding_loads_weights_only_and_round_trips(tmp_path):
    original = runner_like(tmp_path)
    path = tmp_path / 'epoch_2.pth'
    torch.save(to_weights_only(original), path)
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    assert loaded['meta']['dataset_meta'] == {'classes': ('a', 'b')}
    decoded = from_weights_only(loaded)

    buffer = decoded['message_hub']['log_scalars']['loss']
    assert isinstance(buffer, HistoryBuffer)
    for got, want in zip(buffer.data,
                         original['message_hub']['log_scalars']['loss'].data):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    info = decoded['message_hub']['runtime_info']
    assert info['score'] == 4 and isinstance(info['score'], np.int64)
    assert info['cfg'] == {'a': 1} and info['keep_ckpt_ids'] == [1, 2]
    assert isinstance(decoded['meta']['best'], np.float64)
    state = decoded['rng_state']['numpy']
    want = original['rng_state']['numpy']
    assert state[0] == want[0] and state[1].dtype == want[1].dtype
    assert np.array_equal(state[1], want[1]) and state[2:] == want[2:]
    restored = np.random.RandomState()
    restored.set_state(state)
    assert restored.rand() == np.random.RandomState(3).rand()
    assert list(decoded['rng_state']['names']) == ['x', 'yz']


def test_unsupported_object_is_an_error_naming_the_entry():
    with pytest.raises(
            TypeError,
            match=r"checkpoint\['param_schedulers'\]\[0\]"
            r"\['fn'\] is a builtins.function"):
        to_weights_only({'param_schedulers': [{'fn': lambda x: x}]}, 'checkpoint')


def test_mmengine_pickled_checkpoint_is_refused_with_the_conversion(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'message_hub': {
                'log_scalars': {
                    'loss': HistoryBuffer()
                }
            }
        }, path)
    with pytest.raises(
            CheckpointLoadError,
            match=f'{path} holds pickled.*convert_pickled_checkpoint.py'):
        load_checkpoint_file(str(path))

    out = tmp_path / 'converted.pth'
    tool = 'tools/model_converters/convert_pickled_checkpoint.py'
    refused = subprocess.run(
        [sys.executable, tool, str(path), str(out)], capture_output=True, text=True)
    assert refused.returncode != 0 and '--trust-pickled-file' in refused.stderr
    assert not out.exists()
    done = subprocess.run(
        [sys.executable, tool,
         str(path), str(out), '--trust-pickled-file'],
        capture_output=True,
        text=True)
    assert done.returncode == 0, done.stderr
    converted = from_weights_only(torch.load(out, weights_only=True))
    assert isinstance(converted['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_damaged_files_name_the_file(tmp_path):
    path = tmp_path / 'latest.pth'
    torch.save({'state_dict': {'w': torch.randn(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointLoadError, match=f'{path} is truncated or corrupt'):
        load_checkpoint_file(str(path))
    path.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointLoadError, match=f'{path} is truncated or corrupt'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_plain_weights_load_with_mmengine(tmp_path):
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': {'weight': torch.ones(1, 3)}}, path)
    model = torch.nn.Linear(3, 1, bias=False)
    load_checkpoint(model, str(path))
    assert torch.equal(model.weight, torch.ones(1, 3))


class Payload:
    """Unpickling this writes a marker file: a stand-in for any code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_no_loading_path_of_ours_executes_a_pickle_payload(tmp_path):
    marker = tmp_path / 'PWNED'
    evil = tmp_path / 'evil.pth'
    torch.save({
        'state_dict': {
            'backbone.w': torch.ones(1)
        },
        'meta': Payload(marker)
    }, evil)
    from visionllama_mm.models import VisionLLaMA

    with pytest.raises(CheckpointLoadError):
        load_checkpoint_file(str(evil))
    backbone = VisionLLaMA(
        arch=dict(embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32),
        img_size=8,
        patch_size=4,
        init_cfg=dict(type='Pretrained', checkpoint=str(evil)))
    with pytest.raises(CheckpointLoadError):
        backbone.init_weights()
    publish = subprocess.run([
        sys.executable, 'tools/model_converters/publish_model.py',
        str(evil),
        str(tmp_path / 'out.pth')
    ],
                             capture_output=True,
                             text=True)
    assert publish.returncode != 0 and 'holds pickled' in publish.stderr
    assert not marker.exists()


# ------------------------------------------------------------------ integrity (#22)
def training_like():
    return {
        'meta': {
            'epoch': 1,
            'dataset_meta': {
                'classes': ('a', 'b')
            },
            'cfg': 'model = dict()'
        },
        'state_dict':
        OrderedDict(w=torch.randn(3, 4), t=torch.randn(4, 3).t(), h=torch.ones(2).half()),
        'optimizer': {
            'state': {
                0: {
                    'exp_avg': torch.zeros(3, 4)
                }
            },
            'param_groups': [{
                'lr': 0.1
            }]
        },
    }


def test_sha256_per_tensor_names_the_first_changed_tensor(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint_file(training_like(), str(path))
    raw = torch.load(path, weights_only=True)  # plain torch reads it
    assert set(raw[INTEGRITY_KEY]) == {'state_dict', 'optimizer'}
    assert list(raw[INTEGRITY_KEY]['state_dict']) == ["['w']", "['t']", "['h']"]
    load_checkpoint_file(str(path))  # verified

    flipped = dict(raw, state_dict=OrderedDict(raw['state_dict']))
    flipped['state_dict']['t'] = raw['state_dict']['t'].clone()
    flipped['state_dict']['t'][1, 2] = 3.4e38  # finite: nothing else would notice
    torch.save(flipped, path)
    with pytest.raises(
            CheckpointLoadError,
            match=rf"{path} was changed or damaged.*state_dict\['t'\] differs"):
        load_checkpoint_file(str(path))

    del flipped['state_dict']['t']
    flipped['state_dict']['extra'] = torch.ones(1)
    torch.save(flipped, path)
    with pytest.raises(CheckpointLoadError, match=r"state_dict\['t'\] is missing"):
        load_checkpoint_file(str(path))

    torch.save(dict(raw, **{INTEGRITY_KEY: 'anything'}), path)  # a forged record
    with pytest.raises(CheckpointLoadError, match='is not a SHA-256 record'):
        load_checkpoint_file(str(path))

    # a tool that drops a whole entry (the optimizer, as upstream publish tools do)
    del raw['optimizer']
    torch.save(raw, path)
    assert load_checkpoint_file(str(path))['meta']['epoch'] == 1


def test_published_file_carries_weights_and_dataset_meta_and_its_hash(tmp_path):
    src = tmp_path / 'epoch_1.pth'
    checkpoint = training_like()
    checkpoint['message_hub'] = {'runtime_info': {'cfg': 'model = dict()', 'iter': 2}}
    save_checkpoint_file(checkpoint, str(src))
    published = publish_checkpoint(str(src), str(tmp_path / 'model.pth'))
    assert re.fullmatch(r'model-[0-9a-f]{8}\.pth', Path(published).name)
    assert file_sha256(published).startswith(published[-12:-4])
    data = torch.load(published, weights_only=True)
    assert set(data) == {'state_dict', 'meta'}
    assert data['meta'] == {'dataset_meta': {'classes': ('a', 'b')}}
    assert load_checkpoint_file(published)['state_dict'].keys() == {'w', 't', 'h'}

    data['state_dict']['w'][0, 0] += 1  # changed and saved under the same name
    torch.save(data, published)
    with pytest.raises(
            CheckpointLoadError, match=f'{published} is named as a published file whose'):
        load_checkpoint_file(published)


def test_config_text_is_removed_unread():
    checkpoint = {
        'meta': {
            'config': 'open("x", "w")',
            'cfg': 'a = 1',
            'epoch': 1
        },
        'message_hub': {
            'runtime_info': {
                'cfg': 'a = 1',
                'iter': 2
            }
        }
    }
    assert strip_config_text(checkpoint) == [
        "['meta']['config']", "['meta']['cfg']", "['message_hub']['runtime_info']['cfg']"
    ]
    assert checkpoint == {
        'meta': {
            'epoch': 1
        },
        'message_hub': {
            'runtime_info': {
                'iter': 2
            }
        }
    }
    assert strip_config_text({'state_dict': {}}) == []


# ---------------------------------------------------------- atomic back end (#23)
def put(path, checkpoint):
    from mmengine.runner.checkpoint import save_checkpoint
    save_checkpoint(checkpoint, str(path), backend_args=dict(backend=ATOMIC_BACKEND))


def test_atomic_backend_put_is_atomic_and_checked(tmp_path, monkeypatch):
    from mmengine.fileio import LocalBackend
    register_atomic_backend()
    target = tmp_path / 'iter_1.pth'
    target.write_bytes(b'previous good file')

    def dying_put(backend, obj, filepath):  # the write is cut off half way
        Path(filepath).write_bytes(obj[:len(obj) // 2])
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(LocalBackend, 'put', dying_put)
        with pytest.raises(KeyboardInterrupt):
            put(target, {'state_dict': {'w': torch.ones(100)}})
    assert target.read_bytes() == b'previous good file'
    # a file that would not load weights-only never takes the name
    with pytest.raises(CheckpointLoadError, match='holds pickled'):
        put(target, {'state_dict': {'w': torch.ones(100)}, 'meta': {'x': Path('.')}})
    assert target.read_bytes() == b'previous good file'
    put(target, {'state_dict': {'w': torch.ones(100)}})
    assert torch.load(target, weights_only=True)['state_dict']['w'].sum() == 100
    assert not list(tmp_path.glob('.*.tmp'))


def test_atomic_backend_removes_only_after_the_next_write(tmp_path):
    from mmengine.fileio import get_file_backend
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend=register_atomic_backend()))
    assert isinstance(backend, AtomicLocalBackend)
    old = tmp_path / 'best_acc_epoch_1.pth'
    put(old, {'state_dict': {'w': torch.ones(1)}})
    backend.remove(str(old))  # mmengine's CheckpointHook: remove, then save
    assert old.is_file()
    with pytest.raises(CheckpointLoadError):  # the new file fails: the old one stays
        put(tmp_path / 'best_acc_epoch_2.pth', {'meta': {'x': Path('.')}})
    assert old.is_file()
    put(tmp_path / 'best_acc_epoch_2.pth', {'state_dict': {'w': torch.ones(1)}})
    assert not old.exists() and (tmp_path / 'best_acc_epoch_2.pth').is_file()
    with pytest.raises(FileNotFoundError):
        backend.remove(str(old))
    # a strategy of mmengine's FlexibleRunner writes the new file itself:
    # AtomicCheckpointHook carries the removals out after its save step
    new = tmp_path / 'best_acc_epoch_2.pth'
    backend.remove(str(new))
    AtomicLocalBackend.flush_removals(str(tmp_path))
    assert not new.exists()
