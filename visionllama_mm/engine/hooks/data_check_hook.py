"""Check the datasets of a run before the first batch (see
:mod:`visionllama_mm.engine.checks.data`)."""
import logging
from typing import Dict, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from ...registry import HOOKS
from ..checks import (DataError, base_datasets, check_coco_file, check_dataset,
                      evaluator_ann_files)


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Refuse bad data files before training or testing starts, naming the file.

    ``before_run`` (after mmengine has built the datasets and evaluators, before any
    batch) checks every train / val / test dataset with
    :func:`~visionllama_mm.engine.checks.check_dataset`: no samples, missing or zero-byte
    images and label maps, class labels outside ``[0, num_classes)``, label maps
    with several channels or another size than their image, and COCO files
    (coordinates that are NaN / inf / far outside the image, undeclared image or
    category ids: errors; instances mmdet skips: warnings). The evaluators'
    ``ann_file`` COCO files are checked too. During the run each segmentation batch's
    label values are checked against ``[0, num_classes)`` and the dataset's
    ``ignore_index``.

    Files the datasets fail to *parse* (an empty annotation file, invalid JSON, a
    label ``"abc"``) fail while mmengine builds the dataset, before any hook runs:
    :func:`~visionllama_mm.engine.checks.check_dataset_files` checks those from the
    config and is meant to run before the runner is built.

    Args:
        check_files: stat every image / label-map file and read label-map headers
            (one ``stat`` and, for segmentation, two header reads per sample).
        coco_margin: how far outside its image a COCO coordinate may lie, in image
            sizes.
    """
    priority = 'VERY_HIGH'

    def __init__(self, check_files: bool = True, coco_margin: float = 0.5) -> None:
        self.check_files = check_files
        self.coco_margin = coco_margin
        self.seg_labels: Dict[str, Tuple[int, int]] = {}

    def before_run(self, runner) -> None:
        checked, ann_files = set(), set()
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if not isinstance(loop, BaseLoop):
                continue
            dataset = loop.dataloader.dataset
            if id(dataset) not in checked:
                checked.add(id(dataset))
                self._warn(check_dataset(dataset, self.check_files, self.coco_margin))
            ann_files.update(getattr(d, 'ann_file', None) for d in base_datasets(dataset))
            seg = self._seg_label_range(dataset)
            if seg is not None:
                self.seg_labels[split] = seg
        for path in evaluator_ann_files(runner.cfg):
            if path not in ann_files:
                self._warn(check_coco_file(path, margin=self.coco_margin))

    @staticmethod
    def _warn(warnings) -> None:
        for warning in warnings:
            print_log(warning, logger='current', level=logging.WARNING)

    @staticmethod
    def _seg_label_range(dataset) -> Optional[Tuple[int, int]]:
        """``(num_classes, ignore_index)`` of an mmseg dataset, else None."""
        base = base_datasets(dataset)[0]
        classes = (getattr(base, 'metainfo', None) or {}).get('classes')
        if not classes or not hasattr(base, 'ignore_index'):
            return None
        return len(classes), base.ignore_index

    def check_seg_batch(self, split: str, data_batch) -> None:
        """Label values of each ``gt_sem_seg`` in ``[0, num_classes)`` or the
        ignore index; the error names the label-map file."""
        if split not in self.seg_labels or not isinstance(data_batch, dict):
            return
        num_classes, ignore_index = self.seg_labels[split]
        for sample in data_batch.get('data_samples') or []:
            seg = getattr(sample, 'gt_sem_seg', None)
            if seg is None:
                continue
            values = torch.unique(seg.data)
            bad = values[((values < 0) | (values >= num_classes))
                         & (values != ignore_index)]
            if bad.numel():
                raise DataError(
                    f'label map {sample.metainfo.get("seg_map_path")} holds class ids '
                    f'{bad.tolist()[:10]} outside 0..{num_classes - 1} ({num_classes} '
                    f'classes) and the ignore index {ignore_index}')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check_seg_batch('train', data_batch)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check_seg_batch('val', data_batch)

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check_seg_batch('test', data_batch)
