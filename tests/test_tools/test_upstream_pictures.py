"""Pictures from OpenMMLab's own tools (the wheels' ``.mim/tools``) on the seg and det
demos: ``test.py --show-dir`` writes the drawn ground truth and predictions, and
``analyze_logs.py`` plots the loss curve of a demo run's log (matplotlib's Agg
back end, seaborn as ``make install`` installs it)."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_upstream_tools import run, tool

CASES = {
    'mmseg':
    dict(
        config='configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py',
        train=[
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'val_dataloader.dataset.indices=1',
            'default_hooks.logger.interval=1'
        ],
        checkpoint='iter_2.pth',
        # SegVisualizationHook draws every `interval`-th batch (mmseg's default 50)
        test=[
            'test_dataloader.dataset.indices=2', 'default_hooks.visualization.interval=1'
        ],
        images='data/demo/ade/images/validation',
        plot=['analysis_tools/analyze_logs.py']),
    'mmdet':
    dict(
        config='configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py',
        train=[
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1', 'train_dataloader.dataset.indices=8',
            'val_dataloader.dataset.indices=1', 'default_hooks.logger.interval=1'
        ],
        checkpoint='epoch_1.pth',
        # boxes of a model trained 2 iterations score about 0.3, the default threshold
        test=[
            'test_dataloader.dataset.indices=2', 'default_hooks.visualization.score_thr=0'
        ],
        images='data/demo/coco/val2017',
        plot=['analysis_tools/analyze_logs.py', 'plot_curve']),
}


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f'{path} is not an image'
    return image


def curve_columns(plot: np.ndarray) -> int:
    """Columns of the figure holding pixels of a blue line (matplotlib's first colour,
    C0 #1f77b4, antialiased: blue well above red), on seaborn's grey axes: a curve
    over the axes spans hundreds of columns, the legend's sample a few dozen."""
    bgr = plot.astype(int)
    blue = (bgr[..., 0] - bgr[..., 2]) > 40
    return int(blue.any(axis=0).sum())


@pytest.mark.slow
@pytest.mark.parametrize('scope', list(CASES))
def test_show_dir_and_loss_curve(scope, tmp_path, monkeypatch):
    monkeypatch.setenv('MPLBACKEND', 'Agg')  # no display
    case = CASES[scope]
    work = tmp_path / 'train'
    run(
        tool(scope, 'train.py'), case['config'], '--work-dir', str(work), '--cfg-options',
        *case['train'])
    show = tmp_path / 'show'
    run(
        tool(scope, 'test.py'),
        case['config'], str(work / case['checkpoint']), '--work-dir',
        str(tmp_path / 'test'), '--show-dir', str(show), '--cfg-options', *case['test'])

    drawn = sorted(p for p in show.rglob('*') if p.suffix in ('.png', '.jpg'))
    assert len(drawn) == 2, list(show.rglob('*'))
    for path in drawn:
        image = read_image(path)
        # the file is named after its input image (mmseg adds a prefix and a step)
        source = next(p for p in Path(case['images']).iterdir() if p.stem in path.name)
        original = read_image(source)
        height, width = original.shape[:2]
        assert image.shape == (height, 2 * width, 3), (path, image.shape)
        for side, half in (('ground truth', image[:, :width]), ('prediction',
                                                                image[:, width:])):
            changed = (np.abs(half.astype(int) - original.astype(int)).max(axis=2) > 24)
            assert changed.mean() > 0.01, f'{path}: nothing drawn on the {side} half'

    log = next(work.glob('*/vis_data/2*.json'))
    curve = tmp_path / 'loss.png'
    run(
        tool(scope, case['plot'][0]), *case['plot'][1:], str(log), '--keys', 'loss',
        '--out', str(curve))
    plot = read_image(curve)
    assert curve_columns(plot) > plot.shape[1] // 3, 'no loss curve on the figure'
