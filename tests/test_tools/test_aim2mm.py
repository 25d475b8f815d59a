"""The ml-aim converter (package function and tools/model_converters/aim2mm.py) on a
synthetic state dict in the ml-aim layout."""
import subprocess
import sys

import pytest
import torch
from aim_reference import aim_forward, probe_forward, synthetic_aim_state_dict
from mmpretrain.models import build_classifier

from visionllama_mm.models import AIM
from visionllama_mm.models.converters import convert_aim

DIM, DEPTH, HEADS, PATCH, CLASSES = 32, 4, 2, 4, 5
PROBE = [1, 2]
ARCH = dict(embed_dims=DIM, num_layers=DEPTH, num_heads=HEADS)


def classifier():
    return build_classifier(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='AIM',
                arch=ARCH,
                img_size=16,
                patch_size=PATCH,
                out_type='avg_layers',
                out_indices=PROBE),
            head=dict(
                type='AttentionPoolingClassifier',
                num_classes=CLASSES,
                in_channels=DIM,
                num_heads=HEADS,
                use_batch_norm=True)))


@pytest.fixture(scope='module')
def release():
    return synthetic_aim_state_dict(DIM, DEPTH, PATCH, CLASSES)


def test_cli_converts_split_files_and_matches_release_probe(release, tmp_path):
    backbone = {k: v for k, v in release.items() if not k.startswith('head.')}
    head = {k: v for k, v in release.items() if k.startswith('head.')}
    torch.save(backbone, tmp_path / 'backbone.pth')
    torch.save(head, tmp_path / 'head.pth')
    subprocess.run([
        sys.executable, 'tools/model_converters/aim2mm.py',
        str(tmp_path / 'backbone.pth'),
        str(tmp_path / 'out.pth'), '--head',
        str(tmp_path / 'head.pth')
    ],
                   check=True)
    state = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    model = classifier().eval()
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    images = torch.randn(2, 3, 16, 16)
    feats, _ = aim_forward(release, images, HEADS, PATCH)
    ref_tokens = torch.stack([feats[i] for i in PROBE]).mean(0)  # AverageLayers
    with torch.no_grad():
        tokens = model.extract_feat(images)
        logits = model(images, mode='tensor')
    assert len(tokens) == 1 and torch.allclose(tokens[0], ref_tokens, atol=1e-5)
    assert torch.allclose(logits, probe_forward(release, ref_tokens, HEADS), atol=1e-5)


@pytest.mark.parametrize('prefix', [None, [1, 7]])
def test_converted_trunk_matches_release_trunk(release, prefix):
    converted = convert_aim(release)
    backbone = AIM(
        arch=ARCH, patch_size=PATCH, out_type='raw',
        out_indices=list(range(DEPTH))).eval()
    backbone.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in converted.items() if k.startswith('backbone.')
        },
        strict=True)
    images = torch.randn(2, 3, 16, 20)  # a non-square 4x5 grid
    prefix_len = None if prefix is None else torch.tensor(prefix)
    feats, last = aim_forward(release, images, HEADS, PATCH, prefix_len)
    with torch.no_grad():
        outs = backbone(images, prefix_len=prefix_len)
    for ours, ref in zip(outs[:-1], feats[:-1]):
        assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(outs[-1], last, atol=1e-5)  # post_trunk_norm -> ln1


def test_release_probe_head_has_no_bias(release):
    converted = convert_aim(release)
    assert torch.equal(converted['head.fc.bias'], torch.zeros(CLASSES))
    assert 'head.pool.bn.num_batches_tracked' in converted


def test_unknown_and_missing_keys_are_errors(release):
    with pytest.raises(KeyError, match='unknown ml-aim keys'):
        convert_aim({**release, 'trunk.blocks.0.attn.qkv.bias': torch.zeros(96)})
    with pytest.raises(KeyError, match='unknown ml-aim keys'):
        convert_aim({**release, 'preprocessor.pos_embed': torch.zeros(1, 16, DIM)})
    broken = dict(release)
    broken.pop('trunk.blocks.2.mlp.fc2.weight')
    with pytest.raises(KeyError, match=r'backbone\.layers\.2\.ffn\.fc2\.weight'):
        convert_aim(broken)
    broken = dict(release)
    broken.pop('preprocessor.patchifier.norm.weight')
    with pytest.raises(KeyError, match='patch_embed.norm.weight'):
        convert_aim(broken)
    with pytest.raises(KeyError, match='no ml-aim key'):
        convert_aim({})
    # wrapped checkpoints are unwrapped
    assert list(convert_aim({'model': release})) == list(convert_aim(release))
