"""The pyramid demo configs (UperNet on data/demo/ade, Mask R-CNN on data/demo/coco)
through the real tools: a few training iterations, a checkpoint, then tools/test.py."""
import subprocess
import sys

SEG = 'configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py'
DET = 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'


def run(*args):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_seg_demo_trains_and_tests(tmp_path):
    work = tmp_path / 'seg'
    log = run('tools/train.py', SEG, '--work-dir', str(work), '--cfg-options',
              'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
              'default_hooks.checkpoint.interval=2', 'val_dataloader.dataset.indices=4')
    assert (work / 'iter_2.pth').is_file()
    assert 'mIoU' in log
    log = run('tools/test.py', SEG, str(work / 'iter_2.pth'), '--work-dir',
              str(tmp_path / 'seg_test'), '--cfg-options',
              'test_dataloader.dataset.indices=4')
    assert 'mIoU' in log
    for name in ('background', 'circle', 'square', 'triangle'):
        assert name in log  # the per-class table uses the demo's classes


def test_det_demo_trains_and_tests(tmp_path):
    work = tmp_path / 'det'
    log = run('tools/train.py', DET, '--work-dir', str(work), '--cfg-options',
              'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
              'default_hooks.checkpoint.interval=1', 'train_dataloader.dataset.indices=8',
              'val_dataloader.dataset.indices=4')
    assert (work / 'epoch_1.pth').is_file()
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
    log = run('tools/test.py', DET, str(work / 'epoch_1.pth'), '--work-dir',
              str(tmp_path / 'det_test'), '--cfg-options',
              'test_dataloader.dataset.indices=4')
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
