"""mmdet's ``projects/ViTDet`` (as released with mmdet 3.3.0, ``../shared/upstream``)
with only ``model.backbone`` swapped for ours, run the way its README says (a folder
whose ``projects/ViTDet`` is the project, on ``PYTHONPATH``) through mmdet's own
``tools/train.py`` from the wheel's ``.mim``: refused before training with the
one-line fix for its ``SimpleFPN`` (takes one Tensor) and its layer-decay constructor
(one group for all our blocks); with both fixes it trains."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.checks import check_config, check_layer_decay
from visionllama_mm.errors import IncompatibleConfigError

REPO = Path(__file__).resolve().parents[2]
# ``../shared/upstream`` of the project root (also found from a clone further down)
UPSTREAM = next((folder / 'shared/upstream/mmdet-3.3.0/projects/ViTDet'
                 for folder in (REPO, *REPO.parents)
                 if (folder / 'shared/upstream/mmdet-3.3.0').is_dir()),
                REPO.parent / 'shared/upstream/mmdet-3.3.0/projects/ViTDet')

# the project's config, our backbone (768 wide as its SimpleFPN expects; 2 blocks)
USER_CONFIG = '''
_base_ = ['{root}/projects/ViTDet/configs/vitdet_mask-rcnn_vit-b-mae_lsj-100e.py']
custom_imports = dict(
    imports=['projects.ViTDet.vitdet', 'visionllama_mm'], allow_failed_imports=False)
runner_type = 'visionllama_mm.ReliableRunner'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionLLaMA',
        arch=dict(embed_dims=768, num_layers=2, num_heads=12, feedforward_channels=256),
        img_size=64,
        patch_size=16,
        out_indices=(1, ),
        with_cls_token=False,
        out_type='featmap',
        final_norm=False))

# the demo data (data/demo/coco) at 64 px, 2 iterations on the CPU
classes = ('circle', 'square', 'triangle')
size = (64, 64)
model.update(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=size, pad_mask=True)]),
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=size, keep_ratio=True),
    dict(type='PackDetInputs'),
]
data = dict(
    data_root='data/demo/coco/', metainfo=dict(classes=classes), pipeline=pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(indices=2, filter_cfg=dict(min_size=8), **data))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(indices=1, **data))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/demo/coco/annotations/instances_val2017.json')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper')  # AmpOptimWrapper needs a GPU
train_cfg = dict(max_iters=2, val_interval=100, dynamic_intervals=None)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
{fixes}
'''
# the one-line fixes the errors name, as a user writes them into the config
NECK_FIX = "model.update(neck=dict(type='SimpleFeaturePyramid'))"
DECAY_FIX = ("optim_wrapper.update(constructor='LayerDecayOptimWrapperConstructor', "
             'paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.7, '
             'flat_decay_mult=0.0))')


@pytest.fixture(scope='module')
def project_root(tmp_path_factory):
    """A folder whose ``projects/ViTDet`` holds the released project's files and whose
    ``configs`` are mmdet's: the project's configs inherit ``../../../configs``, so
    their folder is a real one here (linked files), the package a linked folder."""
    assert (UPSTREAM / 'vitdet/simple_fpn.py').is_file(), UPSTREAM
    root = tmp_path_factory.mktemp('mmdet_root')
    project = root / 'projects/ViTDet'
    (project / 'configs').mkdir(parents=True)
    (project / 'vitdet').symlink_to(UPSTREAM / 'vitdet')
    for config in (UPSTREAM / 'configs').glob('*.py'):
        (project / 'configs' / config.name).symlink_to(config)
    mmdet = Path(importlib.import_module('mmdet').__file__).parent
    (root / 'configs').symlink_to(mmdet / '.mim/configs')
    return root


def user_config(root: Path, *fixes: str) -> Path:
    path = root / f'user_{len(fixes)}.py'
    path.write_text(USER_CONFIG.format(root=root, fixes='\n'.join(fixes)))
    return path


@pytest.fixture
def on_path(project_root, monkeypatch):
    monkeypatch.syspath_prepend(str(project_root))
    return project_root


def load(root: Path, *fixes: str) -> Config:
    return Config.fromfile(str(user_config(root, *fixes)))


def build(cfg):
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


def test_simple_fpn_of_the_project_is_refused_with_the_fix(on_path):
    cfg = load(on_path)
    model = build(cfg)
    with pytest.raises(TypeError, match="conv_transpose2d.*must be Tensor, not tuple"):
        model.extract_feat(torch.zeros(1, 3, 64, 64))  # what it was
    with pytest.raises(
            IncompatibleConfigError,
            match=(r"model.neck.type='SimpleFPN' takes one Tensor .*returns a tuple of "
                   r"maps.*: set model.neck.type='SimpleFeaturePyramid'")):
        check_config(cfg)
    fixed = load(on_path, NECK_FIX)
    check_config(fixed)
    feats = build(fixed).extract_feat(torch.zeros(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2, 1]  # strides 4 .. 64


def test_project_layer_decay_is_refused_with_the_fix(on_path):
    from mmengine.optim import build_optim_wrapper
    cfg = load(on_path, NECK_FIX)
    model = build(cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    blocks = [
        lr_of[id(p)] for n, p in model.backbone.named_parameters() if 'layers.' in n
    ]
    assert set(blocks) == {1e-4}  # what it was: one group, no layer decay
    with pytest.raises(
            IncompatibleConfigError,
            match=(r"constructor='LayerDecayOptimizerConstructor' with paramwise_cfg "
                   r'decay_rate=0.7 gives all 2 block depths .*one learning rate '
                   r"\(0.0001\).*constructor='LayerDecayOptimWrapperConstructor'")):
        check_layer_decay(model, wrapper, cfg.optim_wrapper)
    fixed = load(on_path, NECK_FIX, DECAY_FIX)
    with DefaultScope.overwrite_default_scope('mmdet'):
        wrapper = build_optim_wrapper(model, fixed.optim_wrapper)
    check_layer_decay(model, wrapper, fixed.optim_wrapper)


def mmdet_train(root: Path, config: Path, work_dir: Path) -> subprocess.CompletedProcess:
    tool = Path(importlib.import_module('mmdet').__file__).parent / '.mim/tools/train.py'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(REPO)]))
    return subprocess.run(
        [sys.executable,
         str(tool), str(config), '--work-dir',
         str(work_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=900)


@pytest.mark.slow
def test_mmdet_train_py_on_the_project_with_our_backbone(project_root, tmp_path):
    """mmdet's own ``tools/train.py``: each problem stops the run before the first
    iteration with its one-line fix; with both fixes it trains."""
    for fixes, message in (
        ((), "set model.neck.type='SimpleFeaturePyramid'"),
        ((NECK_FIX, ), "constructor='LayerDecayOptimWrapperConstructor'"),
    ):
        run = mmdet_train(project_root, user_config(project_root, *fixes), tmp_path)
        log = run.stdout + run.stderr
        assert run.returncode != 0 and message in log, log[-3000:]
        assert 'Iter(train)' not in log
    run = mmdet_train(project_root, user_config(project_root, NECK_FIX, DECAY_FIX),
                      tmp_path / 'fixed')
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert 'Iter(train) [2/2]' in log
    assert (tmp_path / 'fixed/iter_2.pth').is_file()
