"""The zoo by name: ``visionllama_mm.apis`` (every task, in its own scope) and
mmpretrain's own ``list_models`` / ``get_model`` / inferencers, which know the zoo's
names once ``visionllama_mm`` is imported."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from weights_server import (PYRAMID_ARCH, TINY_MODELS, release_stand_ins_fixture,
                            weights_server_fixture)

from visionllama_mm.apis import TASKS, get_model, inference_model, list_models
from visionllama_mm.errors import IncompatibleConfigError, UnknownNameError
from visionllama_mm.models.weights import weights_path

#: the local stand-in of the release hosts (tests/weights_server.py), as fixtures
FIXTURES = (release_stand_ins_fixture, weights_server_fixture)
REPO = Path(__file__).resolve().parents[2]
ADE_IMAGE = 'data/demo/ade/images/validation/ADE_val_00000001.jpg'
COCO_IMAGE = 'data/demo/coco/val2017/000000000001.jpg'
SHAPES_IMAGE = str(next((REPO / 'data/demo/imagenet/val/square').iterdir()))


def metafile_models():
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    return [
        m for path in index['Import']
        for m in yaml.safe_load((REPO / path).read_text())['Models']
    ]


def test_list_models_lists_the_index_by_task_and_pattern():
    models = metafile_models()
    assert list_models() == sorted(m['Name'] for m in models)
    for task in TASKS:
        assert list_models(task=task) == sorted(m['Name'] for m in models
                                                if m['Metadata']['Task'] == task)
    small = list_models('pyramid-visionllama-small*', exclude_patterns=['*mean-gsa*'])
    assert small == [
        'pyramid-visionllama-small_8xb128-300e_in1k',
        'pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512'
    ]
    with pytest.raises(ValueError, match='task must be one of'):
        list_models(task='Detection')


@pytest.mark.parametrize('config, image, sample', [
    ('configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py', SHAPES_IMAGE,
     'DataSample'),
    ('configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py', ADE_IMAGE,
     'SegDataSample'),
    ('configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py', COCO_IMAGE,
     'DetDataSample'),
    ('configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py', COCO_IMAGE,
     'DetDataSample'),
])
def test_each_task_in_its_scope_gives_its_data_sample(config, image, sample):
    model = get_model(config)
    result = inference_model(model, image)
    assert type(result).__name__ == sample
    assert type(model).__module__.split('.')[0] == model.cfg.default_scope
    if sample == 'DataSample':
        assert model.dataset_meta['classes'] == ('circle', 'square', 'triangle')
        assert result.pred_score.shape == (3, )
    elif sample == 'SegDataSample':
        assert result.pred_sem_seg.data.shape[-2:] == (128, 128)
        assert len(model.dataset_meta['classes']) == 4
    else:
        assert result.pred_instances.bboxes.shape[1] == 4


@pytest.mark.parametrize('config', [
    'configs/demo/mae_visionllama-tiny-p4_demo-shapes.py',
    'configs/demo/aim-tiny-p4_pretrain_demo-shapes.py'
])
def test_pretrainers_build_and_refuse_prediction(config):
    model = get_model(config)
    assert model.cfg.default_scope == 'mmpretrain'
    feats = model.extract_feat(torch.rand(1, 3, 32, 32))
    assert feats[0].shape[0] == 1
    with pytest.raises(IncompatibleConfigError, match='FeatureExtractor'):
        inference_model(model, SHAPES_IMAGE)


def test_zoo_names_build_in_their_scope():
    seg = get_model(
        'pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512',
        backbone=dict(arch=dict(_delete_=True, **PYRAMID_ARCH)),
        decode_head=dict(in_channels=[16, 32, 32, 64], channels=16),
        auxiliary_head=dict(in_channels=32, channels=16))
    assert (type(seg).__name__, seg.cfg.default_scope) == ('EncoderDecoder', 'mmseg')
    assert len(seg.dataset_meta['classes']) == 150  # ADE20K
    result = inference_model(seg, ADE_IMAGE)
    assert result.pred_sem_seg.data.shape[-2:] == (128, 128)
    cls = get_model('pyramid-visionllama-small_8xb128-300e_in1k',
                    **TINY_MODELS['pyramid'])
    assert (type(cls).__name__, cls.cfg.default_scope) == ('ImageClassifier',
                                                           'mmpretrain')
    assert len(inference_model(cls, SHAPES_IMAGE).pred_score) == 1000


def test_bad_requests_are_named():
    with pytest.raises(UnknownNameError, match='has no published weights'):
        get_model(
            'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py', pretrained=True)
    with pytest.raises(
            UnknownNameError, match='visionllama-small-p16.* has no published'):
        get_model('visionllama-small-p16_8xb256-lamb-800e_in1k', pretrained=True)
    with pytest.raises(IncompatibleConfigError, match='built by visionllama_mm'):
        inference_model(torch.nn.Linear(2, 2), SHAPES_IMAGE)


MMPRETRAIN_BY_NAME = '''
import sys
import torch
import visionllama_mm
import mmpretrain
from mmpretrain import FeatureExtractor, ImageClassificationInferencer

expected, image, tiny = sys.argv[1].split(','), sys.argv[2], eval(sys.argv[3])
names = mmpretrain.list_models('*visionllama*') + mmpretrain.list_models('aim*') + \\
    mmpretrain.list_models('vit-g*')
missing = set(expected) - set(names)
assert not missing, missing
for name in expected:  # every classification / self-supervised entry builds
    with torch.device('meta'):
        model = mmpretrain.get_model(name)
    print(name, type(model).__name__)
small = 'pyramid-visionllama-small_8xb128-300e_in1k'
result = ImageClassificationInferencer(small, pretrained=False)(image)[0]
assert len(result['pred_scores']) == 1000 and result['pred_class']
feats = FeatureExtractor(small, pretrained=False)(image)[0]
assert feats[0].shape == (512, ), feats[0].shape
# the published weights through visionllama:// (the metafile's Weights), tiny stand-in
model = mmpretrain.get_model(small, pretrained=True, **tiny)
converted = torch.load(sys.argv[4], weights_only=True)['state_dict']
assert all(torch.equal(model.state_dict()[k], v) for k, v in converted.items())
result = ImageClassificationInferencer(model)(image)[0]
print('ok', result['pred_class'])
'''


@pytest.mark.slow
def test_mmpretrain_knows_the_names(weights_server, tmp_path):
    """A script that imports only visionllama_mm and mmpretrain."""
    expected = [
        m['Name'] for m in metafile_models()
        if m['Metadata']['Task'] in ('Image Classification',
                                     'Self-supervised Pretraining')
    ]
    env = weights_server.env(weights_server.cache)
    env['PYTHONPATH'] = str(REPO)
    result = subprocess.run([
        sys.executable, '-c',
        textwrap.dedent(MMPRETRAIN_BY_NAME), ','.join(expected), SHAPES_IMAGE,
        repr(TINY_MODELS['pyramid']),
        weights_path('pyramid-visionllama-s_in1k')
    ],
                            env=env,
                            cwd=tmp_path,
                            capture_output=True,
                            text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1].startswith('ok ')
    assert len(weights_server.requests) == 1  # the one release file
    assert not (tmp_path / 'CONFIG_TEXT_RAN').exists()
    assert os.path.isfile(weights_path('pyramid-visionllama-s_in1k'))
