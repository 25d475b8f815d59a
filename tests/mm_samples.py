"""Tiny mmseg / mmdet data samples shared by the config tests (one train step each)."""
import numpy as np
import torch


def seg_samples(num: int, size: int = 64) -> list:
    """``num`` SegDataSamples with random ADE20K labels (0..149) on a size x size map."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(num):
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, size, size)))
        samples.append(sample)
    return samples


def det_samples(size: int = 64) -> list:
    """One DetDataSample with a box, its label 3 and a rectangular mask."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(size, size),
            pad_shape=(size, size),
            batch_input_shape=(size, size),
            ori_shape=(size, size),
            scale_factor=(1., 1.)))
    instances = InstanceData()
    instances.bboxes = torch.tensor([[8., 10., 40., 44.]])
    instances.labels = torch.tensor([3])
    mask = np.zeros((1, size, size), np.uint8)
    mask[0, 10:44, 8:40] = 1
    instances.masks = BitmapMasks(mask, size, size)
    sample.gt_instances = instances
    return [sample]
