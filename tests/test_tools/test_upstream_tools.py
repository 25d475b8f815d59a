"""The demo configs (our backbones in an mmpretrain classifier, mmseg's UperNet and
mmdet's Mask R-CNN) through OpenMMLab's **own** tools, shipped in their wheels under
``.mim/``: train a few iterations, test, publish with their ``publish_model.py``,
then their inferencers on the checkpoint in fresh processes, one of which never
imports this package."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

CASES = {
    'mmpretrain':
    dict(
        config='configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py',
        train=[
            'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
            'train_dataloader.dataset.indices=8', 'val_dataloader.dataset.indices=4'
        ],
        test=['test_dataloader.dataset.indices=4'],
        checkpoint='epoch_1.pth',
        metric='accuracy/top1',
        publish='model_converters/publish_model.py',
        classes=['circle', 'square', 'triangle'],
        image='data/demo/imagenet/val/circle/{}',
        infer='''
from mmpretrain.apis import ImageClassificationInferencer
inferencer = ImageClassificationInferencer(model=CONFIG, pretrained=WEIGHTS, device='cpu')
result = inferencer(IMAGE)[0]
print('RESULT', json.dumps(dict(classes=list(inferencer.classes),
                                shape=[len(result['pred_scores'])])))
'''),
    'mmseg':
    dict(
        config='configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py',
        train=[
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'val_dataloader.dataset.indices=2'
        ],
        test=['test_dataloader.dataset.indices=2'],
        checkpoint='iter_2.pth',
        metric='mIoU',
        publish='misc/publish_model.py',
        classes=['background', 'circle', 'square', 'triangle'],
        image='data/demo/ade/images/validation/{}',
        infer='''
from mmseg.apis import MMSegInferencer
inferencer = MMSegInferencer(model=CONFIG, weights=WEIGHTS, device='cpu')
result = inferencer(IMAGE, return_datasamples=True)
print('RESULT', json.dumps(dict(classes=list(inferencer.model.dataset_meta['classes']),
                      shape=list(result.pred_sem_seg.data.shape))))
'''),
    'mmdet':
    dict(
        config='configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py',
        train=[
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1', 'train_dataloader.dataset.indices=2',
            'val_dataloader.dataset.indices=2'
        ],
        test=['test_dataloader.dataset.indices=2'],
        checkpoint='epoch_1.pth',
        metric='coco/bbox_mAP',
        publish='model_converters/publish_model.py',
        classes=['circle', 'square', 'triangle'],
        image='data/demo/coco/val2017/{}',
        infer='''
from mmdet.apis import DetInferencer
inferencer = DetInferencer(model=CONFIG, weights=WEIGHTS, device='cpu')
result = inferencer(IMAGE, return_datasamples=True)['predictions'][0]
print('RESULT', json.dumps(dict(classes=list(inferencer.model.dataset_meta['classes']),
                      shape=list(result.pred_instances.bboxes.shape[1:]))))
'''),
}


def tool(package: str, script: str) -> str:
    path = Path(importlib.import_module(package).__file__).parent / '.mim/tools' / script
    assert path.is_file(), path
    return str(path)


def result_of(output: str):
    """The JSON a snippet printed after ``RESULT``."""
    # a progress bar may leave its line open: find the marker anywhere in a line
    line = next(line for line in output.splitlines() if 'RESULT ' in line)
    return json.loads(line.split('RESULT ', 1)[1])


def run(*args, cwd=None) -> str:
    result = subprocess.run([sys.executable, *args],
                            capture_output=True,
                            text=True,
                            cwd=cwd,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.parametrize('scope', list(CASES))
def test_upstream_tools_on_our_backbone(scope, tmp_path):
    case = CASES[scope]
    config = str(Path(case['config']).resolve())
    work = tmp_path / 'work'
    log = run(
        tool(scope, 'train.py'), config, '--work-dir', str(work), '--cfg-options',
        *case['train'])
    assert 'ReliableRunner' in log or 'AtomicCheckpointHook' in log
    checkpoint = work / case['checkpoint']
    log = run(
        tool(scope, 'test.py'), config, str(checkpoint), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *case['test'])
    assert case['metric'] in log

    # a process that never imports visionllama_mm reads it weights-only
    plain = run(
        '-c', f'''
import json, torch
ckpt = torch.load({str(checkpoint)!r}, map_location='cpu', weights_only=True)
print('RESULT', json.dumps(list(ckpt['meta']['dataset_meta']['classes'])))
import sys; assert 'visionllama_mm' not in sys.modules
''')
    assert result_of(plain) == case['classes']

    # the upstream publish tool, run from outside the repository
    log = run(
        tool(scope, case['publish']),
        str(checkpoint),
        str(tmp_path / 'published.pth'),
        cwd=tmp_path)
    published = next(tmp_path.glob('published*.pth'))  # name-[date-]sha.pth

    # the inferencer (our classes come in through the config's custom_imports)
    folder = Path(case['image'].format('')).resolve()
    image = str(sorted(folder.iterdir())[0])
    out = run(
        '-c', f'''
import json
CONFIG, WEIGHTS, IMAGE = {config!r}, {str(published)!r}, {image!r}
{case['infer']}''')
    result = result_of(out)
    assert result['classes'] == case['classes']  # dataset_meta survived
    assert result['shape'] in ([1, 128, 128], [4], [3])
