"""A local stand-in for the hosts of the release weights (no network in the tests).

:func:`release_files` builds tiny files in each release layout, with the official
key names and what the real files hold besides the weights: the DeiT-code files
(Pyramid VisionLLaMA ImageNet) an ``argparse.Namespace``, optimizer, scheduler and
scaler states; the mmpretrain-fork files (MAE encoders) mmengine's message hub
(``HistoryBuffer`` objects with numpy arrays), ``meta`` with the config text and the
MAE decoder; the AIM files a plain trunk and a plain probe-head state dict.

:class:`WeightsServer` serves them from ``http.server`` on 127.0.0.1 (a free port)
under the release's paths; ``behaviour`` makes a path close mid-file or answer with
an HTML page. The fixture ``weights_server`` (import it into a test module:
``from weights_server import release_stand_ins_fixture, weights_server_fixture``) starts
one, points ``VLLAMA_WEIGHTS_BASE_URL`` at it and ``VLLAMA_CACHE`` at a fresh folder
(``server.cache``); :meth:`WeightsServer.env` gives the same variables for a
subprocess.

Tiny shapes (the ``*_ARCH`` / ``*_MODEL`` overrides of :func:`get_model`'s
``**kwargs``, as in :data:`TINY_MODELS`) keep every test fast.
"""
import argparse
import dataclasses
import hashlib
import io
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

import pytest
import torch
from aim_reference import synthetic_aim_state_dict
from reference import synthetic_pyramid_state_dict

from visionllama_mm.models.weights import RELEASES, ReleaseFile

#: Pyramid VisionLLaMA at tiny width (the ImageNet head keeps its 1000 classes).
PYRAMID_ARCH = dict(
    embed_dims=[16, 32, 32, 64],
    depths=[2, 2, 2, 2],
    num_heads=[2, 2, 2, 4],
    feedforward_channels=[32, 64, 64, 128])
#: The MAE encoder (the fork's layout: FFN bias, no layer scale) and decoder.
MAE_ARCH = dict(
    embed_dims=32,
    num_layers=2,
    num_heads=2,
    feedforward_channels=64,
    ffn_bias=True,
    layer_scale_init_value=0.)
MAE_NECK = dict(embed_dim=32, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)
#: AIM: 32 blocks (the probes read up to block 31, of AIM-7B), 24 wide.
AIM_ARCH = dict(embed_dims=24, num_layers=32, num_heads=12)

#: ``get_model(NAME, **TINY_MODELS[layout])`` builds the model that the stand-in
#: weights of a release of that layout fill exactly.
TINY_MODELS = {
    'pyramid':
    dict(
        backbone=dict(arch=dict(_delete_=True, **PYRAMID_ARCH)),
        head=dict(in_channels=64)),
    'mae':
    dict(backbone=dict(arch=dict(_delete_=True, **MAE_ARCH)), neck=MAE_NECK),
    'aim':
    dict(
        backbone=dict(arch=dict(_delete_=True, **AIM_ARCH)),
        head=dict(in_channels=24, num_heads=12)),
}

#: Config text as an mmengine checkpoint's ``meta`` keeps it; it must never run.
CONFIG_TEXT = "import pathlib\npathlib.Path('CONFIG_TEXT_RAN').touch()\nmodel = dict()\n"


def _optimizer_state(params: List[torch.Tensor]) -> dict:
    params = [torch.nn.Parameter(p.clone()) for p in params]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    sum(p.sum() for p in params).backward()
    optimizer.step()
    return optimizer.state_dict()


def deit_checkpoint(model: Dict[str, torch.Tensor]) -> dict:
    """A ``best_checkpoint.pth`` of the release's deit/main.py around ``model``."""
    args = argparse.Namespace(
        model='pllama_wols_small_patch16',
        batch_size=128,
        epochs=300,
        lr=1e-3,
        input_size=224,
        drop_path=0.2,
        opt='adamw',
        sched='cosine',
        mixup=0.8,
        data_path='/workdir/ILSVRC2012/',
        output_dir='cpt/pllama',
        device='cuda',
        seed=0,
        distributed=True,
        world_size=8,
        rank=0,
        gpu=0,
        dist_url='env://',
        clip_grad=None,
        repeated_aug=False,
        model_ema=False)
    return {
        'model':
        model,
        'optimizer':
        _optimizer_state([next(iter(model.values()))]),
        'lr_scheduler':
        dict(
            t_initial=300,
            lr_min=1e-5,
            warmup_t=5,
            cycle_mul=1.0,
            base_values=[1e-3],
            metric=None,
            noise_range_t=None),
        'epoch':
        299,
        'scaler':
        dict(
            scale=65536.0,
            growth_factor=2.0,
            backoff_factor=0.5,
            growth_interval=2000,
            _growth_tracker=0),
        'args':
        args,
    }


def mmengine_checkpoint(state_dict: Dict[str, torch.Tensor]) -> dict:
    """An mmengine ``epoch_N.pth`` (mmengine's ``CheckpointHook``) around
    ``state_dict``: a pickled message hub, ``meta`` with the config text."""
    from mmengine.logging import MessageHub
    hub = MessageHub(f'release-{len(state_dict)}')
    for i in range(3):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
        hub.update_scalar('train/lr', 1.5e-4)
    hub.update_info('epoch', 800)
    hub.update_info('iter', 2000)
    return {
        'meta':
        dict(
            cfg=CONFIG_TEXT,
            epoch=800,
            iter=2000,
            seed=0,
            mmengine_version='0.7.3',
            experiment_name='mae_lama-base-p16'),
        'state_dict':
        state_dict,
        'message_hub':
        hub.state_dict(),
        'optimizer':
        _optimizer_state([next(iter(state_dict.values()))]),
        'param_schedulers': [dict(by_epoch=True, last_step=800, base_values=[6e-4])],
    }


def mae_release_state() -> Dict[str, torch.Tensor]:
    """The fork's MAE state dict (backbone with its unused ``pos_embed``, decoder)."""
    from mmpretrain.models import MAEPretrainDecoder

    from visionllama_mm.models import MAEVisionLLaMA
    torch.manual_seed(0)
    backbone = MAEVisionLLaMA(arch=MAE_ARCH, img_size=224, patch_size=16)
    neck = MAEPretrainDecoder(num_patches=196, patch_size=16, **MAE_NECK)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['backbone.pos_embed'] = torch.zeros(1, 197, MAE_ARCH['embed_dims'])
    state.update({f'neck.{k}': v for k, v in neck.state_dict().items()})
    return state


def _save(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def release_files() -> Dict[str, bytes]:
    """Tiny stand-ins of every release file, by path under the base URL."""
    pyramid = _save(
        deit_checkpoint(
            synthetic_pyramid_state_dict(
                PYRAMID_ARCH['embed_dims'],
                PYRAMID_ARCH['depths'],
                PYRAMID_ARCH['feedforward_channels'],
                num_classes=1000)))
    mae = _save(mmengine_checkpoint(mae_release_state()))
    aim = synthetic_aim_state_dict(AIM_ARCH['embed_dims'], AIM_ARCH['num_layers'], 14,
                                   1000)
    trunk = _save({k: v for k, v in aim.items() if not k.startswith('head.')})
    head = _save({k: v for k, v in aim.items() if k.startswith('head.')})
    files = {}
    for release in RELEASES.values():
        if release.layout == 'aim':
            files[release.files[0].path] = trunk
            files[release.files[1].path] = head
        else:
            files[release.files[0].path] = pyramid if release.layout == 'pyramid' else mae
    return files


def stand_in_checksums(monkeypatch, files: Dict[str, bytes]) -> None:
    """Give the AIM releases the SHA-256 prefixes of the stand-in files (their real
    prefixes are those of the published files), for this test only."""
    for name, release in list(RELEASES.items()):
        if any(f.sha256_prefix for f in release.files):
            stand_ins = tuple(
                ReleaseFile(f.path,
                            hashlib.sha256(files[f.path]).hexdigest()[:8])
                for f in release.files)
            monkeypatch.setitem(RELEASES, name,
                                dataclasses.replace(release, files=stand_ins))


HTML_PAGE = (b'<!DOCTYPE html>\n<html><head><title>Sign in - Hugging Face</title></head>'
             b'<body>Please sign in to download this file.</body></html>\n')


class WeightsServer:
    """``http.server`` on 127.0.0.1 serving ``files`` (path -> bytes).

    ``behaviour[path]``: ``'truncate'`` (sends half the file, then closes although
    ``Content-Length`` says more), ``'html'`` (200 with an HTML sign-in page) or
    ``'html404'`` (404 with an HTML page). ``requests`` lists every requested path.
    """

    def __init__(self, files: Dict[str, bytes]):
        self.files = dict(files)
        self.behaviour: Dict[str, str] = {}
        self.requests: List[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):

            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.lstrip('/')
                server.requests.append(path)
                how = server.behaviour.get(path)
                data = server.files.get(path)
                if how in ('html', 'html404') or data is None:
                    self.send_response(200 if how == 'html' else 404)
                    self.send_header('Content-Type', 'text/html')
                    self.send_header('Content-Length', str(len(HTML_PAGE)))
                    self.end_headers()
                    self.wfile.write(HTML_PAGE)
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if how == 'truncate':
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> 'WeightsServer':
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def env(self, cache: str, base: Optional[dict] = None) -> Dict[str, str]:
        """The environment of a subprocess that fetches from this server."""
        env = dict(os.environ if base is None else base)
        env.update(
            VLLAMA_WEIGHTS_BASE_URL=self.url,
            VLLAMA_CACHE=str(cache),
            NO_PROXY='127.0.0.1,localhost',
            no_proxy='127.0.0.1,localhost')
        return env


@pytest.fixture(scope='session', name='release_stand_ins')
def release_stand_ins_fixture() -> Dict[str, bytes]:
    """:func:`release_files`, built once per session."""
    return release_files()


@pytest.fixture(name='weights_server')
def weights_server_fixture(release_stand_ins, tmp_path, monkeypatch):
    """A running :class:`WeightsServer` of the stand-ins; ``VLLAMA_WEIGHTS_BASE_URL``
    points at it and ``VLLAMA_CACHE`` at ``server.cache`` (empty) for this test."""
    with WeightsServer(release_stand_ins) as server:
        server.cache = tmp_path / 'vllama_cache'
        for key, value in server.env(server.cache, base={}).items():
            monkeypatch.setenv(key, value)
        yield server
