"""``visionllama://`` in a shipped mmseg config, trained with mmseg's own
``tools/train.py`` (from its wheel's ``.mim``): the release weights are fetched from
the local stand-in server, converted, cached and loaded as the backbone's
initialisation.

The config (UperNet + Pyramid VisionLLaMA-S, ADE20K) is used unmodified; only
``--cfg-options`` point it at the bundled demo data at 64 px, 2 iterations, learning
rate 0, so the checkpoint after 2 iterations still holds exactly the converted release
weights. The stand-in has the full Pyramid-S shapes (the config's ``arch='s'``).
"""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from reference import synthetic_pyramid_state_dict
from weights_server import WeightsServer, _save, deit_checkpoint

from visionllama_mm.models import PyramidVisionLLaMA
from visionllama_mm.models.converters import convert_visionllama
from visionllama_mm.models.layers.ffn import swiglu_hidden_dims
from visionllama_mm.models.weights import RELEASES

CONFIG = 'configs/pyramid_visionllama/pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py'  # noqa: E501
OPTIONS = [
    'train_dataloader.dataset.data_root=data/demo/ade',
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'model.data_preprocessor.size=(64,64)',
    'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
    'default_hooks.logger.interval=1', 'optim_wrapper.optimizer.lr=0.0', 'val_cfg=None',
    'val_dataloader=None', 'val_evaluator=None'
]


@pytest.mark.slow
def test_scheme_in_a_shipped_mmseg_config_with_mmseg_train(tmp_path):
    arch = PyramidVisionLLaMA.arch_zoo['s']
    release = synthetic_pyramid_state_dict(
        arch['embed_dims'],
        arch['depths'], [swiglu_hidden_dims(d) for d in arch['embed_dims']],
        num_classes=1000)
    path = RELEASES['pyramid-visionllama-s_in1k'].files[0].path
    train = Path(importlib.import_module('mmseg').__file__).parent / '.mim/tools/train.py'
    with WeightsServer({path: _save(deit_checkpoint(release))}) as server:
        result = subprocess.run([
            sys.executable,
            str(train), CONFIG, '--work-dir',
            str(tmp_path / 'work'), '--cfg-options', *OPTIONS
        ],
                                env=server.env(tmp_path / 'cache'),
                                capture_output=True,
                                text=True,
                                timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert server.requests == [path]
    log = result.stdout + result.stderr
    assert 'from visionllama://pyramid-visionllama-s_in1k' in log
    trained = torch.load(
        tmp_path / 'work' / 'iter_2.pth', weights_only=True)['state_dict']
    expected = convert_visionllama(release, 'pyramid')
    backbone = [k for k in trained if k.startswith('backbone.')]
    # every backbone tensor but the stage norms (the seg/det backbone's own) came from
    # the release; the ImageNet head's final norm is not part of the seg backbone
    fresh = [k for k in backbone if k not in expected]
    assert fresh and all(k.startswith('backbone.norm_list.') for k in fresh), fresh
    assert all(torch.equal(trained[k], expected[k]) for k in backbone if k in expected)
    assert (tmp_path / 'cache' / 'checkpoints' /
            'pyramid-visionllama-s_in1k.pth').is_file()
