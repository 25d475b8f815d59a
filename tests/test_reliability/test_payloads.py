"""No loading path of the package's tools unpickles a checkpoint: a file carrying a
pickle payload (it would create a marker file) is refused with an error naming it on
every path — tools/test.py, load_from, --resume PATH, auto-resume through
last_checkpoint, the resolution sweep and publish_model.py."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SHORT = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
    'train_cfg.max_epochs=1', 'val_dataloader.dataset.indices=4'
]


class Payload:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture
def evil(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(
        {
            'meta': {
                'epoch': 1,
                'iter': 2,
                'x': Payload(tmp_path / 'PWNED')
            },
            'state_dict': {},
            'message_hub': {}
        }, path)
    return path


def paths(evil, work):
    return {
        'test.py': ['tools/test.py', CLS,
                    str(evil), '--work-dir',
                    str(work)],
        'load_from': [
            'tools/train.py', CLS, '--work-dir',
            str(work), '--cfg-options', f'load_from={evil}', *SHORT
        ],
        '--resume PATH': [
            'tools/train.py', CLS, '--work-dir',
            str(work), '--resume',
            str(evil), '--cfg-options', *SHORT
        ],
        '--resume (last_checkpoint)': [
            'tools/train.py', CLS, '--work-dir',
            str(work), '--resume', '--cfg-options', *SHORT
        ],
        'rope_resolution_sweep.py': [
            'tools/analysis_tools/rope_resolution_sweep.py', CLS,
            str(evil), '--sizes', '32', '--rope-types', '2d', '--out-dir',
            str(work)
        ],
        'publish_model.py': [
            'tools/model_converters/publish_model.py',
            str(evil),
            str(work / 'published.pth')
        ],
    }


@pytest.mark.parametrize('path', list(paths(Path('x'), Path('y'))))
def test_pickle_payload_never_runs(path, evil, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(evil))
    result = subprocess.run([sys.executable, *paths(evil, work)[path]],
                            capture_output=True,
                            text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert not (tmp_path / 'PWNED').exists()
    assert f'{evil} holds pickled Python objects' in output, output[-3000:]


def test_pretrained_url_is_read_weights_only(tmp_path, monkeypatch):
    """``init_cfg=dict(type='Pretrained', checkpoint='http://...')``: mmengine's own http
    loader unpickles the download (torch's ``load_state_dict_from_url`` defaults to
    ``weights_only=False``); the package's loader downloads and reads weights-only, so a
    payload served over http is refused and never runs."""
    import io

    from weights_server import WeightsServer

    from visionllama_mm.errors import CheckpointLoadError
    from visionllama_mm.models import PyramidVisionLLaMA
    from visionllama_mm.models.utils import load_pretrained

    buffer = io.BytesIO()
    torch.save({'state_dict': {}, 'x': Payload(tmp_path / 'PWNED')}, buffer)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    backbone = PyramidVisionLLaMA(
        arch=dict(
            embed_dims=[8, 8, 8, 8],
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            feedforward_channels=[8, 8, 8, 8]))
    with WeightsServer({'evil.pth': buffer.getvalue()}) as server:
        monkeypatch.setenv('NO_PROXY', '127.0.0.1')
        with pytest.raises(Exception, match='(?i)weights.only|unsupported global'):
            load_pretrained(backbone, dict(checkpoint=server.url + 'evil.pth'))
        with pytest.raises(CheckpointLoadError, match='s3://'):
            load_pretrained(backbone, dict(checkpoint='s3://bucket/evil.pth'))
    assert not (tmp_path / 'PWNED').exists()
