import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader, load_checkpoint

from visionllama_mm.compat import (CheckpointLoadError, load_local_checkpoint,
                                   trusted_checkpoints)


def runner_style_checkpoint(path):
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'loss': HistoryBuffer()}}}, path)


def test_weights_only_by_default_with_clear_error(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    runner_style_checkpoint(path)
    with pytest.raises(CheckpointLoadError, match=f'{path}.*--resume'):
        CheckpointLoader.load_checkpoint(str(path))


def test_trusted_context_unpickles_own_runs(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    runner_style_checkpoint(path)
    with trusted_checkpoints():
        ckpt = CheckpointLoader.load_checkpoint(str(path))
    assert isinstance(ckpt['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_plain_weights_load(tmp_path):
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': {'weight': torch.ones(1, 3)}}, path)
    model = torch.nn.Linear(3, 1, bias=False)
    load_checkpoint(model, str(path))
    assert torch.equal(model.weight, torch.ones(1, 3))


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / 'latest.pth'
    torch.save({'state_dict': {'w': torch.randn(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointLoadError, match=f'{path} is truncated or corrupt'):
        load_local_checkpoint(str(path))
