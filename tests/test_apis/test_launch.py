"""Launch helpers of tools/train.py and tools/test.py (config handling only)."""
import argparse
import socket

import pytest
import torch
from mmengine.config import Config

from visionllama_mm.utils import (LaunchError, check_amp, convert_syncbn_for_cpu,
                                  get_scope, import_scope, init_cpu_distributed, launch,
                                  prepare_test_config, prepare_train_config,
                                  setup_cpu_distributed)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(launch, '_amp_device_available', lambda: False)
    monkeypatch.setattr(launch, '_cuda_available', lambda: False)


@pytest.fixture
def gpu(monkeypatch):
    monkeypatch.setattr(launch, '_amp_device_available', lambda: True)
    monkeypatch.setattr(launch, '_cuda_available', lambda: True)


def train_args(**kwargs):
    defaults = dict(
        config='configs/foo/my_config.py',
        work_dir=None,
        cfg_options=None,
        launcher='none',
        amp=False,
        auto_scale_lr=False,
        resume=None)
    return argparse.Namespace(**{**defaults, **kwargs})


def test_syncbn_nested_dicts_lists_tuples():
    cfg = Config(
        dict(
            default_scope='mmseg',
            model=dict(
                data_preprocessor=dict(type='SegDataPreProcessor', mean=[1, 2]),
                backbone=dict(
                    type='VisionLLaMA', norm_cfg=dict(type='SyncBN', requires_grad=True)),
                neck=[
                    dict(type='FPN', norm_cfg=dict(type='SyncBN')),
                    dict(type='Identity', norm_cfg=dict(type='LN'))
                ],
                decode_head=(dict(norm_cfg=dict(type='MMSyncBN')), 'SyncBN')),
            norm_cfg=dict(type='SyncBN'),
            sync_bn='torch'))
    assert convert_syncbn_for_cpu(cfg) == 5
    assert cfg.sync_bn is None
    model = cfg.model
    assert model.backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert model.neck[0].norm_cfg.type == 'BN'
    assert model.neck[1].norm_cfg.type == 'LN'
    assert isinstance(model.decode_head, tuple)
    assert model.decode_head[0].norm_cfg.type == 'BN'
    assert model.decode_head[1] == 'SyncBN'  # a plain string, not a type
    assert model.data_preprocessor == dict(type='SegDataPreProcessor', mean=[1, 2])
    assert cfg.norm_cfg.type == 'BN'
    assert convert_syncbn_for_cpu(cfg) == 0


def test_amp_flag_without_gpu_is_refused(no_gpu):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    with pytest.raises(LaunchError, match='--amp needs a CUDA GPU'):
        check_amp(cfg, requested=True)


def test_amp_in_config_without_gpu_names_the_key(no_gpu):
    cfg = Config(
        dict(
            optim_wrapper=dict(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(type='AdamW', lr=1e-3))))
    with pytest.raises(LaunchError) as err:
        check_amp(cfg, requested=False)
    msg = str(err.value)
    assert "optim_wrapper.type='AmpOptimWrapper'" in msg
    assert "optim_wrapper.type='OptimWrapper'" in msg
    assert 'optim_wrapper.loss_scale' in msg


def test_amp_flag_with_gpu_switches_wrapper(gpu):
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD'))))
    check_amp(cfg, requested=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_fp32_on_cpu_is_left_alone(no_gpu):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    check_amp(cfg, requested=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


@pytest.mark.parametrize('scope', ['mmocr', None])
def test_unknown_scope_lists_supported(scope):
    cfg = Config(dict(default_scope=scope) if scope else dict())
    with pytest.raises(LaunchError) as err:
        import_scope(cfg)
    for name in ('mmpretrain', 'mmseg', 'mmdet'):
        assert name in str(err.value)


def test_known_scope():
    assert get_scope(Config(dict(default_scope='mmdet'))) == 'mmdet'


def test_cpu_distributed_sets_gloo_and_no_device_ids():
    cfg = Config(
        dict(env_cfg=dict(dist_cfg=dict(backend='nccl')), find_unused_parameters=True))
    setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    assert 'device_ids' in cfg.model_wrapper_cfg
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.broadcast_buffers is False
    assert cfg.model_wrapper_cfg.find_unused_parameters is True


def test_cpu_distributed_keeps_own_wrapper_but_drops_device_ids():
    cfg = Config(
        dict(
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel',
                device_ids=[0],
                find_unused_parameters=True)))
    setup_cpu_distributed(cfg, 'slurm')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True


def test_non_distributed_config_untouched():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg, 'none')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.skipif(
    not torch.distributed.is_gloo_available(), reason='needs the gloo backend')
def test_cpu_ddp_builds_with_the_generated_wrapper(monkeypatch):
    """One-process gloo group; mmengine's wrapper build keeps device_ids=None."""
    import torch.multiprocessing as mp
    from mmengine.registry import MODEL_WRAPPERS

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    start_method = mp.get_start_method(allow_none=True)
    cfg = Config(dict())
    setup_cpu_distributed(cfg, 'pytorch')
    assert init_cpu_distributed(cfg, 'pytorch')
    try:
        assert torch.distributed.get_backend() == 'gloo'
        # what Runner.wrap_model does with a model_wrapper_cfg
        model = MODEL_WRAPPERS.build(
            cfg.model_wrapper_cfg,
            default_args=dict(module=torch.nn.Linear(2, 2), device_ids=[0]))
        assert model.device_ids is None
    finally:
        torch.distributed.destroy_process_group()
        mp.set_start_method(start_method, force=True)


def test_train_options():
    cfg = Config(
        dict(default_scope='mmpretrain', auto_scale_lr=dict(base_batch_size=256)))
    prepare_train_config(
        cfg, train_args(resume='auto', auto_scale_lr=True, cfg_options={'a.b': 1}))
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.auto_scale_lr.enable is True
    assert cfg.a.b == 1

    cfg = Config(dict(default_scope='mmseg'))
    prepare_train_config(cfg, train_args(resume='w/epoch_3.pth', work_dir='w'))
    assert (cfg.work_dir, cfg.resume, cfg.load_from) == ('w', True, 'w/epoch_3.pth')
    with pytest.raises(LaunchError, match='base_batch_size'):
        prepare_train_config(
            Config(dict(default_scope='mmseg')), train_args(auto_scale_lr=True))


def test_test_options_dump_results():
    args = argparse.Namespace(
        config='c.py',
        checkpoint='ckpt.pth',
        work_dir=None,
        cfg_options=None,
        launcher='none',
        out='res.pkl',
        show_dir=None)
    cfg = Config(dict(default_scope='mmdet', test_evaluator=dict(type='CocoMetric')))
    prepare_test_config(cfg, args)
    assert cfg.load_from == 'ckpt.pth'
    assert [m['type'] for m in cfg.test_evaluator] == ['CocoMetric', 'DumpDetResults']
    cfg = Config(dict(default_scope='mmpretrain', test_evaluator=[dict(type='Accuracy')]))
    prepare_test_config(cfg, args)
    assert cfg.test_evaluator[-1] == dict(type='DumpResults', out_file_path='res.pkl')
