"""Release weights by name against a local stand-in of the release hosts
(tests/weights_server.py): download, weights-only read, conversion, cache, the
``visionllama://`` scheme, and every way a download can fail.

Each layout's tiny stand-in holds what the real files hold besides the weights (an
``argparse.Namespace``, mmengine's message hub, config text in ``meta``); the model
built by name with the stand-in's tiny shapes must receive every converted tensor.
"""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader
from reference import synthetic_pyramid_state_dict
from weights_server import (PYRAMID_ARCH, TINY_MODELS, WeightsServer, deit_checkpoint,
                            release_stand_ins_fixture, stand_in_checksums,
                            weights_server_fixture)

from visionllama_mm.apis import get_model
from visionllama_mm.errors import (CheckpointLoadError, DownloadError,
                                   IncompatibleConfigError, UnknownNameError)
from visionllama_mm.models import PyramidVisionLLaMA
from visionllama_mm.models.weights import (RELEASES, fetch_weights, release_url,
                                           weights_path)

#: the local stand-in of the release hosts (tests/weights_server.py), as fixtures
FIXTURES = (release_stand_ins_fixture, weights_server_fixture)
PYRAMID_S = 'pyramid-visionllama-s_in1k'
MAE_B = 'mae-visionllama-b-800e_in1k'
AIM_600M = 'aim-600m_attnprobe-best_in1k'
FETCH = 'tools/model_converters/fetch_weights.py'


def cached_files(cache: Path):
    return sorted(p for p in Path(cache).rglob('*') if p.is_file())


def assert_holds_weights(model: torch.nn.Module, name: str) -> None:
    """Every tensor of the converted weights is in the model, and every parameter
    of the model came from them."""
    converted = torch.load(weights_path(name), weights_only=True)['state_dict']
    own = model.state_dict()
    assert set(converted) <= set(own), set(converted) - set(own)
    params = {k for k, _ in model.named_parameters()}
    assert params <= set(converted), params - set(converted)
    for key, value in converted.items():
        assert torch.equal(own[key], value), key


@pytest.mark.parametrize('name', sorted(RELEASES))
def test_every_release_by_name(name, weights_server, monkeypatch, tmp_path):
    stand_in_checksums(monkeypatch, weights_server.files)
    monkeypatch.chdir(tmp_path)
    release = RELEASES[name]
    model = get_model(name, pretrained=True, **TINY_MODELS[release.layout])
    assert_holds_weights(model, name)
    assert weights_server.requests == [f.path for f in release.files]
    assert cached_files(weights_server.cache) == [Path(weights_path(name))]
    assert not (tmp_path / 'CONFIG_TEXT_RAN').exists()  # meta's config text never runs


def test_second_call_uses_the_cache(weights_server):
    first = get_model(PYRAMID_S, pretrained=True, **TINY_MODELS['pyramid'])
    assert len(weights_server.requests) == 1
    second = get_model(PYRAMID_S, pretrained=True, **TINY_MODELS['pyramid'])
    assert len(weights_server.requests) == 1
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), key


@pytest.mark.parametrize(
    'model', [
        'pyramid-visionllama-small_8xb128-300e_in1k',
        'configs/pyramid_visionllama/pyramid-visionllama-small_8xb128-300e_in1k.py'
    ],
    ids=['zoo-name', 'config-file'])
def test_zoo_entry_with_weights_loads_them(weights_server, model):
    model = get_model(model, pretrained=True, **TINY_MODELS['pyramid'])
    assert_holds_weights(model, PYRAMID_S)


def test_scheme_in_any_init_cfg(weights_server):
    backbone = PyramidVisionLLaMA(
        arch=PYRAMID_ARCH,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=f'visionllama://{PYRAMID_S}',
            prefix='backbone.'))
    converted = torch.load(fetch_weights(PYRAMID_S), weights_only=True)['state_dict']
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, converted[f'backbone.{key}']), key
    checkpoint = CheckpointLoader.load_checkpoint(f'visionllama://{PYRAMID_S}')
    assert checkpoint['meta']['weights'] == PYRAMID_S


def assert_nothing_kept(cache) -> None:
    assert cached_files(cache) == []


def assert_one_line_with_fix(err, url) -> None:
    """One line naming the URL, the cache folder and the offline fix."""
    message = str(err)
    assert '\n' not in message
    assert url in message
    assert os.path.join(os.environ['VLLAMA_CACHE'], 'checkpoints') in message
    assert '--from-file' in message


def test_broken_off_download(weights_server):
    path = RELEASES[PYRAMID_S].files[0].path
    weights_server.behaviour[path] = 'truncate'
    with pytest.raises(DownloadError, match='truncated|broke off') as err:
        fetch_weights(PYRAMID_S)
    assert_one_line_with_fix(err.value, weights_server.url + path)
    assert_nothing_kept(weights_server.cache)
    weights_server.behaviour.clear()  # the next try starts again and succeeds
    assert Path(fetch_weights(PYRAMID_S)).is_file()


@pytest.mark.parametrize('how, match', [('html', "an HTML page \\('Sign in"),
                                        ('html404', 'HTTP 404')])
def test_html_error_page(weights_server, how, match):
    path = RELEASES[MAE_B].files[0].path
    weights_server.behaviour[path] = how
    with pytest.raises(DownloadError, match=match) as err:
        fetch_weights(MAE_B)
    assert_one_line_with_fix(err.value, weights_server.url + path)
    assert_nothing_kept(weights_server.cache)


def test_wrong_layout_for_the_name(weights_server):
    pyramid = RELEASES[PYRAMID_S].files[0].path
    weights_server.files[pyramid] = weights_server.files[RELEASES[MAE_B].files[0].path]
    with pytest.raises(CheckpointLoadError, match="'pyramid' layout") as err:
        fetch_weights(PYRAMID_S)
    assert weights_server.url + pyramid in str(err.value)
    assert_nothing_kept(weights_server.cache)


def test_checksum_mismatch(weights_server):
    # the AIM release lists SHA-256 prefixes; the stand-ins do not have them
    with pytest.raises(DownloadError, match='wrong SHA-256') as err:
        fetch_weights(AIM_600M)
    assert_one_line_with_fix(err.value, release_url(RELEASES[AIM_600M].files[0]))
    assert_nothing_kept(weights_server.cache)


def test_object_outside_the_allow_list_is_refused(weights_server):
    path = RELEASES[PYRAMID_S].files[0].path
    checkpoint = deit_checkpoint(
        synthetic_pyramid_state_dict(
            PYRAMID_ARCH['embed_dims'],
            PYRAMID_ARCH['depths'],
            PYRAMID_ARCH['feedforward_channels'],
            num_classes=1000))
    checkpoint['args'].criterion = torch.nn.Identity()  # pickled as a module
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    weights_server.files[path] = buffer.getvalue()
    with pytest.raises(CheckpointLoadError, match='torch.nn.modules.linear.Identity'):
        fetch_weights(PYRAMID_S)
    assert_nothing_kept(weights_server.cache)


def test_unknown_name_suggests_the_closest(weights_server):
    with pytest.raises(UnknownNameError, match=f"did you mean '{PYRAMID_S}'"):
        fetch_weights('pyramid-visionlama-s_in1k')
    with pytest.raises(UnknownNameError, match=f"did you mean '{PYRAMID_S}'"):
        CheckpointLoader.load_checkpoint('visionllama://pyramid-visionllama-s-in1k')
    with pytest.raises(UnknownNameError, match='pyramid-visionllama-small_8xb128'):
        get_model('pyramid-visionllama-small_8xb128-300e_in1')
    assert weights_server.requests == []


def test_no_model_from_a_checkpoint_alone(weights_server):
    with pytest.raises(IncompatibleConfigError, match='never used'):
        get_model(None, pretrained=fetch_weights(PYRAMID_S))


@pytest.mark.slow
def test_offline_then_from_file(weights_server, tmp_path, monkeypatch):
    with WeightsServer({}) as closed:
        url = closed.url
    monkeypatch.setenv('VLLAMA_WEIGHTS_BASE_URL', url)  # nothing listens there
    path = RELEASES[PYRAMID_S].files[0].path
    with pytest.raises(DownloadError, match='cannot reach') as err:
        fetch_weights(PYRAMID_S)
    assert_one_line_with_fix(err.value, url + path)
    assert_nothing_kept(weights_server.cache)
    # the file downloaded by other means, placed with the command the error names
    manual = tmp_path / 'best_checkpoint.pth'
    manual.write_bytes(weights_server.files[path])
    out = tmp_path / 'out' / 'pyramid-s.pth'
    env = closed.env(weights_server.cache)
    env['PYTHONPATH'] = os.getcwd()
    result = subprocess.run(
        [sys.executable, FETCH, PYRAMID_S, '--from-file',
         str(manual), '--out',
         str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert cached_files(weights_server.cache) == [Path(weights_path(PYRAMID_S))]
    assert out.read_bytes() == Path(weights_path(PYRAMID_S)).read_bytes()
    model = get_model(PYRAMID_S, pretrained=True, **TINY_MODELS['pyramid'])  # no network
    assert_holds_weights(model, PYRAMID_S)


@pytest.mark.slow
def test_fetch_tool_errors_in_one_line(weights_server, tmp_path):
    env = weights_server.env(weights_server.cache)
    env['PYTHONPATH'] = os.getcwd()
    result = subprocess.run([sys.executable, FETCH, 'pyramid-visionllama-x_in1k'],
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "fetch_weights.py: error: no published weights are called "
        "'pyramid-visionllama-x_in1k'; did you mean"), lines
    assert all(f"'pyramid-visionllama-{size}_in1k'" in lines[0] for size in 'sbl')
