"""SaveWeightsHook: a weights-only-loadable {'state_dict', 'meta'} file (with the
SHA-256 of its tensors), atomically."""
import importlib
import logging
import os

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import visionllama_mm  # noqa: F401
from visionllama_mm.engine import SaveWeightsHook
from visionllama_mm.fileio import INTEGRITY_KEY


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Linear(2, 3)
        self.head = torch.nn.Linear(3, 1)
        self.register_buffer('counter', torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.backbone(inputs))  # default_collate stacked them
        if mode == 'loss':
            return dict(loss=(out - data_samples).pow(2).mean())
        return out


class ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)), data_samples=torch.ones(1))


def _runner(tmp_path, hook, **train_cfg):
    return Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(),
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=3, **train_cfg),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[hook],
        log_level='WARNING',
        experiment_name=f'toy_{os.getpid()}_{id(hook)}',
        default_scope='mmpretrain')


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_registered_in_every_scope(scope):
    registry = importlib.import_module(f'{scope}.registry').HOOKS
    assert registry.get('SaveWeightsHook') is SaveWeightsHook


def test_after_train_writes_weights_only_file(tmp_path):
    runner = _runner(tmp_path, dict(type='SaveWeightsHook'))
    runner.train()
    path = tmp_path / 'weights.pth'
    data = torch.load(path, weights_only=True)  # no pickled objects
    assert set(data) == {'state_dict', 'meta', INTEGRITY_KEY}  # + SHA-256 per tensor
    model = runner.model
    assert set(data['state_dict']) == set(model.state_dict())  # with buffers
    for name, tensor in model.state_dict().items():
        assert torch.equal(data['state_dict'][name], tensor)
        assert data['state_dict'][name].device.type == 'cpu'
    meta = data['meta']
    assert meta['epoch'] == 3 and meta['iter'] == 6
    assert meta['experiment_name'] == runner.experiment_name
    assert all(isinstance(v, (int, str, type(None))) for v in meta.values())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith('.tmp')] == []
    # what init_cfg=dict(type='Pretrained', prefix='backbone.') does with it
    from mmengine.runner.checkpoint import _load_checkpoint_with_prefix
    weights = _load_checkpoint_with_prefix('backbone.', str(path))
    assert set(weights) == {'weight', 'bias'}


def test_interval_by_epoch_and_by_iter(tmp_path, monkeypatch):
    saved = []
    real_save = SaveWeightsHook.save

    def spy(self, runner, epoch, iteration):
        saved.append((epoch, iteration))
        return real_save(self, runner, epoch, iteration)

    monkeypatch.setattr(SaveWeightsHook, 'save', spy)
    _runner(tmp_path / 'epoch', dict(type='SaveWeightsHook', interval=2)).train()
    assert saved == [(2, 4), (3, 6)]  # epoch 2, then after training
    saved.clear()
    _runner(
        tmp_path / 'iter',
        dict(type='SaveWeightsHook', interval=4, by_epoch=False,
             filename='sub/w.pth')).train()
    assert saved == [(1, 4), (3, 6)]  # iteration 4 (in epoch 2), then after training
    assert torch.load(
        tmp_path / 'iter' / 'sub' / 'w.pth', weights_only=True)['meta']['iter'] == 6


def test_unwraps_model_wrappers(tmp_path):
    runner = _runner(tmp_path, dict(type='SaveWeightsHook'))
    inner = runner.model
    runner.model = torch.nn.DataParallel(inner)  # registered as a wrapper by mmengine
    assert set(runner.model.state_dict()) != set(inner.state_dict())  # 'module.' keys
    SaveWeightsHook().save(runner, epoch=0, iteration=0)
    data = torch.load(tmp_path / 'weights.pth', weights_only=True)
    assert set(data['state_dict']) == set(inner.state_dict())


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    runner = _runner(tmp_path, dict(type='SaveWeightsHook'))
    hook = SaveWeightsHook()
    hook.save(runner, epoch=1, iteration=2)
    before = (tmp_path / 'weights.pth').read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(OSError, match='disk full'):
        hook.save(runner, epoch=2, iteration=4)
    assert (tmp_path / 'weights.pth').read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith('.tmp')] == []


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        SaveWeightsHook(interval=0)
    with pytest.raises(ValueError, match='filename'):
        SaveWeightsHook(filename='')


def test_logs_the_path(tmp_path):
    runner = _runner(tmp_path, dict(type='SaveWeightsHook'))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    runner.logger.addHandler(handler)
    runner.logger.setLevel(logging.INFO)
    try:
        SaveWeightsHook().save(runner, epoch=1, iteration=2)
    finally:
        runner.logger.removeHandler(handler)
    assert any('weights.pth' in r.getMessage() for r in records)
