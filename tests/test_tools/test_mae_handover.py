"""Checkpoint handover MAE -> fine-tuning / UperNet / ViTDet through the real tools.

The MAE demo trains for a few iterations through ``tools/train.py``; its SaveWeightsHook
file (``weights.pth``) is then given to the demo fine-tuning, UperNet and Mask R-CNN
configs exactly as they ship (``init_cfg=dict(type='Pretrained', prefix='backbone.')``):
the backbones must hold the MAE encoder's tensors, the load must report what it skipped,
and files that do not fit must be errors rather than a silent random init.
"""
import importlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.utils import convert_syncbn_for_cpu

REPO_ROOT = Path(__file__).resolve().parents[2]
MAE = 'configs/demo/mae_visionllama-tiny-p4_demo-shapes.py'
FINETUNE = 'configs/demo/visionllama-tiny-p4_ft-from-mae_demo-shapes.py'
DOWNSTREAM = [
    ('mmpretrain', FINETUNE),
    ('mmseg', 'configs/demo/visionllama-tiny-mae_upernet_demo-shapes.py'),
    ('mmdet', 'configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py'),
]
SKIPPED = ['cls_token', 'ln1.weight', 'ln1.bias']  # MAE encoder parts the users drop


def run(*args):
    result = subprocess.run([sys.executable, *args],
                            capture_output=True,
                            text=True,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def mae_run(tmp_path_factory):
    """Two iterations of the MAE demo (128 images, batch 64) through tools/train.py."""
    work = tmp_path_factory.mktemp('mae')
    log = run('tools/train.py', MAE, '--work-dir', str(work), '--cfg-options',
              'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128')
    assert 'SaveWeightsHook' in log
    return work


def test_mae_run_writes_weights_only_file(mae_run):
    weights = torch.load(mae_run / 'weights.pth', weights_only=True)
    assert weights['meta']['epoch'] == 1 and weights['meta']['iter'] == 2
    assert weights['meta']['cfg'] == Path(MAE).name
    assert any(k.startswith('backbone.layers.') for k in weights['state_dict'])
    assert any(k.startswith('neck.decoder_blocks.') for k in weights['state_dict'])
    # the runner's own checkpoint loads weights-only too (AtomicCheckpointHook); the
    # weights file is the small hand-over without optimizer and schedulers
    checkpoint = torch.load(mae_run / 'epoch_1.pth', weights_only=True)
    assert 'optimizer' in checkpoint and 'optimizer' not in weights


def _build(scope, config, checkpoint):
    cfg = Config.fromfile(REPO_ROOT / config)
    init_cfg = cfg.model.backbone.init_cfg
    assert init_cfg == dict(
        type='Pretrained',
        prefix='backbone.',
        checkpoint='work_dirs/mae_visionllama-tiny-p4_demo-shapes/'
        'weights.pth')
    init_cfg.checkpoint = str(checkpoint)
    convert_syncbn_for_cpu(cfg)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
    return model


def _init_with_log(model):
    records = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    return [r.getMessage() for r in records]


@pytest.mark.parametrize('scope,config', DOWNSTREAM, ids=[s for s, _ in DOWNSTREAM])
def test_downstream_backbone_holds_the_mae_encoder(mae_run, scope, config):
    mae = torch.load(mae_run / 'weights.pth', weights_only=True)['state_dict']
    encoder = {
        k[len('backbone.'):]: v
        for k, v in mae.items() if k.startswith('backbone.')
    }
    model = _build(scope, config, mae_run / 'weights.pth')
    messages = _init_with_log(model)

    own = model.backbone.state_dict()
    shared = sorted(set(own) & set(encoder))
    # every block, the patch embedding: all but the pooled-feature LN of fine-tuning
    assert set(own) - set(shared) == ({'ln2.weight', 'ln2.bias'}
                                      if scope == 'mmpretrain' else set())
    assert sorted(set(encoder) - set(own)) == sorted(SKIPPED)
    for key in shared:
        assert torch.equal(own[key], encoder[key]), key
    report = [m for m in messages if 'missing keys' in m]
    assert len(report) == 1, messages
    assert f'loaded {len(shared)}/{len(own)} tensors' in report[0]
    assert f'unexpected keys: {SKIPPED}' in report[0]
    missing = "['ln2.weight', 'ln2.bias']" if scope == 'mmpretrain' else 'none'
    assert f'missing keys: {missing}' in report[0]


def test_finetune_demo_trains_from_the_weights(mae_run, tmp_path):
    log = run('tools/train.py', FINETUNE, '--work-dir', str(tmp_path), '--cfg-options',
              f'model.backbone.init_cfg.checkpoint={mae_run / "weights.pth"}',
              'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
              'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=64')
    assert 'loaded 50/52 tensors' in log and 'accuracy/top1' in log


def _save(path, state_dict):
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=0)), path)
    return path


@pytest.mark.parametrize('scope,config', DOWNSTREAM, ids=[s for s, _ in DOWNSTREAM])
def test_files_that_do_not_fit_are_errors(mae_run, tmp_path, scope, config):
    mae = torch.load(mae_run / 'weights.pth', weights_only=True)['state_dict']
    # keys of another model under the prefix
    wrong = _save(tmp_path / 'wrong.pth',
                  {'backbone.blocks.0.mlp.fc1.weight': torch.zeros(4, 4)})
    with pytest.raises(ValueError, match='no key in common'):
        _build(scope, config, wrong).init_weights()
    # the encoder without the 'backbone.' prefix: nothing under the prefix
    bare = _save(tmp_path / 'bare.pth', {
        k[len('backbone.'):]: v
        for k, v in mae.items() if k.startswith('backbone.')
    })
    with pytest.raises(ValueError, match='no key in common'):
        _build(scope, config, bare).init_weights()
    # an encoder of another width
    narrow = dict(mae)
    narrow['backbone.layers.0.attn.qkv.weight'] = torch.zeros(96, 32)
    narrow = _save(tmp_path / 'narrow.pth', narrow)
    with pytest.raises(ValueError, match='shape mismatch'):
        _build(scope, config, narrow).init_weights()
    # the runner's training checkpoint (weights-only loadable) serves as well
    _build(scope, config, mae_run / 'epoch_1.pth').init_weights()
