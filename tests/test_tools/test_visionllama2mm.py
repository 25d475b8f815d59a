import subprocess
import sys

import pytest
import torch
from mmpretrain.models import build_classifier
from reference import official_deit_forward, synthetic_deit_state_dict

from visionllama_mm.models import VisionLLaMA
from visionllama_mm.models.converters import convert_visionllama

DIM, DEPTH, HEADS, HIDDEN, PATCH, CLASSES = 32, 2, 2, 64, 8, 5


def classifier():
    return build_classifier(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='VisionLLaMA',
                img_size=32,
                patch_size=PATCH,
                arch=dict(
                    embed_dims=DIM,
                    num_layers=DEPTH,
                    num_heads=HEADS,
                    feedforward_channels=HIDDEN,
                    layer_scale_init_value=1e-4)),
            head=dict(type='LinearClsHead', num_classes=CLASSES, in_channels=DIM)))


def test_deit_layout_matches_official_forward(tmp_path):
    official = synthetic_deit_state_dict(DIM, DEPTH, HIDDEN, PATCH, CLASSES)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save({'model': official}, src)
    subprocess.run(
        [sys.executable, 'tools/model_converters/visionllama2mm.py',
         str(src),
         str(dst)],
        check=True)
    model = classifier().eval()
    state = torch.load(dst, weights_only=True)['state_dict']
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours = model(images, mode='tensor')
    ref = official_deit_forward(official, images, DEPTH, HEADS, PATCH)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_mae_layout_round_trip():
    backbone = VisionLLaMA(
        arch=dict(
            embed_dims=DIM,
            num_layers=DEPTH,
            num_heads=HEADS,
            feedforward_channels=HIDDEN,
            ffn_bias=True),
        img_size=32,
        patch_size=PATCH)
    release = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    release['backbone.pos_embed'] = torch.zeros(1, 17, DIM)
    release['neck.decoder_embed.weight'] = torch.zeros(4, DIM)
    converted = convert_visionllama({'state_dict': release})
    assert 'backbone.pos_embed' not in converted
    assert 'neck.decoder_embed.weight' not in converted
    fresh = VisionLLaMA(
        arch=dict(
            embed_dims=DIM,
            num_layers=DEPTH,
            num_heads=HEADS,
            feedforward_channels=HIDDEN,
            ffn_bias=True),
        img_size=32,
        patch_size=PATCH)
    fresh.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in converted.items()
    },
                          strict=True)
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key])


def test_unknown_keys_are_errors():
    official = synthetic_deit_state_dict(DIM, 1, HIDDEN, PATCH, CLASSES)
    official['pos_embed'] = torch.zeros(1, 17, DIM)
    with pytest.raises(KeyError, match='pos_embed'):
        convert_visionllama(official)
    with pytest.raises(ValueError, match='cannot tell the layout'):
        convert_visionllama({'foo.weight': torch.zeros(1)})


@pytest.mark.slow
def test_cli_reads_release_training_checkpoints_weights_only(tmp_path):
    """The release files themselves (a DeiT checkpoint with its argparse.Namespace, an
    mmengine checkpoint with its message hub) convert without unpickling."""
    from reference import synthetic_pyramid_state_dict
    from weights_server import (PYRAMID_ARCH, deit_checkpoint, mae_release_state,
                                mmengine_checkpoint)
    pyramid = synthetic_pyramid_state_dict(PYRAMID_ARCH['embed_dims'],
                                           PYRAMID_ARCH['depths'],
                                           PYRAMID_ARCH['feedforward_channels'])
    mae = mae_release_state()
    for name, checkpoint, state, extra in (('best_checkpoint.pth',
                                            deit_checkpoint(pyramid), pyramid, []),
                                           ('epoch_800.pth', mmengine_checkpoint(mae),
                                            mae, ['--keep-selfsup-heads'])):
        src, dst = tmp_path / name, tmp_path / f'converted_{name}'
        torch.save(checkpoint, src)
        result = subprocess.run(
            [
                sys.executable, 'tools/model_converters/visionllama2mm.py',
                str(src),
                str(dst)
            ] + extra,
            capture_output=True,
            text=True)
        assert result.returncode == 0, result.stderr
        converted = torch.load(dst, weights_only=True)['state_dict']
        expected = convert_visionllama(state, keep_selfsup_heads=bool(extra))
        assert list(converted) == list(expected)
        assert all(torch.equal(converted[k], v) for k, v in expected.items())
