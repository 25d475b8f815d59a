"""Errors that were obscure or late (issue 22, item 6) name the parameter, file or key
and the fix, before training starts: a symlink loop as work_dir, a ``_base_`` that is
no config file, a Python call in ``--cfg-options``, a misspelt hook argument, a
truncated checkpoint in ``pytorch2onnx.py``; and a pretrained file of the earlier
``layers.N.ffn.gamma2`` layout loads with the rename instead of a silent init."""
import os
import runpy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from reliability_helpers import train_args

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.checks import HookArgumentError, check_hook_args
from visionllama_mm.errors import CheckpointLoadError, LaunchError
from visionllama_mm.models import VisionLLaMA
from visionllama_mm.utils import (build_runner, load_config, parse_launch_args,
                                  prepare_train_config, read_config)

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
DEMOS = sorted(str(p) for p in Path('configs/demo').glob('*.py'))
TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'deployment'


@pytest.mark.parametrize('kind', ['loop', 'dangling', 'file'])
def test_work_dir_that_cannot_be_a_directory(tmp_path, kind):
    work_dir = tmp_path / 'work'
    if kind == 'loop':
        os.symlink(work_dir, work_dir)  # what it was: a bare FileExistsError
    elif kind == 'dangling':
        os.symlink(tmp_path / 'gone', work_dir)
    else:
        work_dir.write_text('')
    problem = {
        'loop': f"a symbolic link to '{work_dir}' that leads nowhere \\(a loop\\)",
        'dangling':
        'a symbolic link to .*gone.* that leads nowhere \\(a dangling link\\)',
        'file': 'a file, not a directory'
    }[kind]
    cfg = prepare_train_config(Config.fromfile(CLS), train_args(CLS, work_dir))
    with pytest.raises(
            LaunchError,
            match=rf"work_dir='{work_dir}' cannot be created: it is {problem}. Remove "
            r'or fix that path, or choose another work_dir \(--work-dir\)'):
        build_runner(cfg)


@pytest.mark.parametrize('base,problem', [
    ('notes.txt', 'which is not a config file'),
    ('missing.py', 'which does not exist'),
    ('broken.json', r'which cannot be parsed: JSONDecodeError in it'),
])
def test_base_that_is_no_config_file_is_named(tmp_path, base, problem):
    (tmp_path / 'notes.txt').write_text('lr = 0.1\n')
    (tmp_path / 'broken.json').write_text('{"lr": \n')
    (tmp_path / 'parent.py').write_text(f'_base_ = ["./{base}"]\n')
    (tmp_path / 'child.py').write_text('_base_ = ["./parent.py"]\nlr = 1\n')
    with pytest.raises(Exception) as raised:  # what it was: no file named
        Config.fromfile(str(tmp_path / 'child.py'))
    assert 'parent.py' not in str(raised.value)  # nor, but for a missing one, the file
    for read in (read_config, load_config):  # the tools' and the analysis tools' path
        with pytest.raises(
                LaunchError,
                match=rf"config {tmp_path / 'parent.py'} names _base_ '\./{base}' "
                rf"\(.*{base}\), {problem}"):
            read(str(tmp_path / 'child.py'))
    assert read_config(CLS).default_scope == 'mmpretrain'


@pytest.mark.parametrize(
    'option,message',
    [
        ('x=dict(a=1,b=2)', 'never Python calls such as dict'),  # was a RecursionError
        ('x=dict(a=1)', 'never Python calls such as dict'),  # was the text 'dict(a=1)'
        ('x=a(b,c)d', 'a bracket that does not enclose a whole list'),  # RecursionError
        ('x=[1,2', 'Imbalanced brackets'),
        ('x', "'x' is not a key=value pair"),
    ])
def test_cfg_options_that_cannot_be_parsed(option, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_launch_args('Train', 'config', 'dir', 'lr=1', lambda parser: None,
                          [CLS, '--cfg-options', 'a.b=1', option])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert '--cfg-options' in error and message in error, error
    args = parse_launch_args('Train', 'config', 'dir', 'lr=1', lambda parser: None,
                             [CLS, '--cfg-options', 'a.b=1', 'c=[(1,2),(3,4)]', 'd=x'])
    assert args.cfg_options == {'a.b': 1, 'c': [(1, 2), (3, 4)], 'd': 'x'}


def test_misspelt_checkpoint_hook_key_is_an_error_before_training(tmp_path):
    """mmengine's CheckpointHook takes **kwargs and passed 'intervall' on to
    save_checkpoint, which failed after the first epoch."""
    cfg = prepare_train_config(
        Config.fromfile(CLS),
        train_args(CLS, tmp_path, **{'default_hooks.checkpoint.intervall': 1}))
    with pytest.raises(
            HookArgumentError,
            match=r"default_hooks.checkpoint: AtomicCheckpointHook has no argument "
            r"'intervall' \(did you mean 'interval'\?\)\. It takes .*by_epoch"):
        build_runner(cfg)
    assert not list(tmp_path.iterdir())  # refused before the runner was built


@pytest.mark.parametrize('hook,key', [
    (dict(type='CheckpointHook', intervall=1), 'intervall'),
    (dict(type='EMAHook', momentum=1e-4, momentm=1e-4), 'momentm'),
    (dict(type='DataCheckHook', check_file=False), 'check_file'),
    (dict(type='mmdet.MeanTeacherHook', momentun=1e-3), 'momentun'),
])
def test_hook_arguments_are_checked_against_the_class(hook, key):
    cfg = Config(dict(default_scope='mmdet', custom_hooks=[hook]))
    with pytest.raises(HookArgumentError, match=f"custom_hooks\\[0\\]: .* '{key}'"):
        check_hook_args(cfg)
    good = {k: v for k, v in hook.items() if k != key}
    check_hook_args(Config(dict(default_scope='mmdet', custom_hooks=[good])))


@pytest.mark.parametrize('config', DEMOS)
def test_the_demo_configs_hooks_pass(config):
    cfg = Config.fromfile(config)
    check_hook_args(cfg)


def test_truncated_checkpoint_in_pytorch2onnx_is_named(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(
            CheckpointLoadError, match=f'checkpoint {path} is truncated or corrupt'):
        runpy.run_path(str(TOOLS / 'pytorch2onnx.py'))['main'](
            [CLS,
             str(path), '--out',
             str(tmp_path / 'm.onnx'), '--shape', '32', '32'])
    assert issubclass(CheckpointLoadError, RuntimeError)  # the tool prints it, rc 2


def test_pretrained_file_of_the_earlier_gamma2_layout(tmp_path):
    """A file with ``layers.N.ffn.gamma2.weight`` (this package's layout before the
    layer scale moved to the block) loads into ``layers.N.gamma2.weight``; before,
    the keys were logged as unexpected and gamma2 kept its init (0.1) silently."""
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    kwargs = dict(arch=arch, img_size=32, patch_size=8, layer_scale_init_value=0.1)
    source = VisionLLaMA(**kwargs)
    state = {}
    for key, value in source.state_dict().items():
        if key.endswith('.gamma2.weight'):
            value, key = torch.full_like(value,
                                         7.), key.replace('.gamma2.', '.ffn.gamma2.')
        state[f'backbone.{key}'] = value
    ckpt = tmp_path / 'old.pth'
    torch.save({'state_dict': state}, ckpt)
    model = VisionLLaMA(
        **kwargs,
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    logged = []
    logger = MMLogger.get_current_instance()
    logger.addFilter(lambda record: logged.append(record.getMessage()) or True)
    model.init_weights()
    for layer in model.layers:
        assert torch.equal(layer.gamma2.weight, torch.full_like(layer.gamma2.weight, 7.))
    assert any(f'pretrained checkpoint {ckpt}: 2 keys of the earlier layout renamed, '
               'e.g. layers.0.ffn.gamma2.weight -> layers.0.gamma2.weight' in m
               for m in logged), logged
    assert any('unexpected keys: none' in m for m in logged), logged
