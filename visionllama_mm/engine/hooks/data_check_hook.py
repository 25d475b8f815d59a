"""Check the datasets of a run before the first batch (see
:mod:`visionllama_mm.engine.checks.data`)."""
import logging
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from ...registry import HOOKS
from ..checks import (DEFAULT_MAX_PIXELS, OUTLIER_FACTOR, DataError, base_datasets,
                      check_coco_file, check_dataset, evaluator_ann_files)


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Refuse bad data files before training or testing starts, naming the file.

    ``before_run`` (after mmengine has built the datasets and evaluators, before any
    batch) checks every train / val / test dataset with
    :func:`~visionllama_mm.engine.checks.check_dataset`: no samples, missing or zero-byte
    images and label maps, images too large to decode, sizes an annotation file
    declares that differ from the file, class labels outside ``[0, num_classes)``,
    label maps with several channels, another size than their image or values that
    mmseg's ``uint8`` reading changes (a 16-bit 258), and COCO files (coordinates
    that are NaN / inf / far outside the image, undeclared image or category ids:
    errors; instances mmdet skips: warnings). Images far larger than the rest of
    their dataset are a warning naming them. The evaluators' ``ann_file`` COCO files
    are checked too. During the run each segmentation batch's
    label values are checked against ``[0, num_classes)`` and the dataset's
    ``ignore_index``.

    The files are read on rank 0 only (in a distributed run every rank stops with its
    error).

    Files the datasets fail to *parse* (an empty annotation file, invalid JSON, a
    label ``"abc"``) fail while mmengine builds the dataset, before any hook runs:
    :func:`~visionllama_mm.engine.checks.check_dataset_files` checks those from the
    config and is meant to run before the runner is built.

    Args:
        check_files: stat every image / label-map file and read its header (no pixel
            is decoded): one ``stat`` and one header read per file.
        coco_margin: how far outside its image a COCO coordinate may lie, in image
            sizes.
        max_image_pixels: an image or label map with more pixels is an error (default:
            PIL's decompression-bomb limit, 178,956,970 pixels, about 13400 x 13400);
            None: no limit.
        outlier_factor: an image with more than this many times the median area of
            its dataset is a warning naming it; None: no warning.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 check_files: bool = True,
                 coco_margin: float = 0.5,
                 max_image_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 outlier_factor: Optional[float] = OUTLIER_FACTOR) -> None:
        self.check_files = check_files
        self.coco_margin = coco_margin
        self.max_image_pixels = max_image_pixels
        self.outlier_factor = outlier_factor
        self.seg_labels: Dict[str, Tuple[int, int]] = {}

    def before_run(self, runner) -> None:
        from mmengine.dist import broadcast_object_list, get_rank
        datasets = {}
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if isinstance(loop, BaseLoop):
                datasets[split] = loop.dataloader.dataset
                seg = self._seg_label_range(datasets[split])
                if seg is not None:
                    self.seg_labels[split] = seg
        # rank 0 reads the files; every rank stops with its error
        found: List = [None]
        if get_rank() == 0:
            try:
                found = [self.check_datasets(datasets.values(), runner.cfg)]
            except Exception as err:  # re-raised on every rank
                found = [err]
        broadcast_object_list(found)
        if isinstance(found[0], BaseException):
            raise found[0]
        self._warn(found[0])

    def check_datasets(self, datasets: Iterable, cfg) -> List[str]:
        """:func:`~visionllama_mm.engine.checks.check_dataset` of each dataset and
        :func:`~visionllama_mm.engine.checks.check_coco_file` of the evaluators' other
        COCO files; returns the warnings."""
        warnings, checked, ann_files = [], set(), set()
        for dataset in datasets:
            if id(dataset) in checked:
                continue
            checked.add(id(dataset))
            warnings += check_dataset(dataset, self.check_files, self.coco_margin,
                                      self.max_image_pixels, self.outlier_factor)
            ann_files.update(getattr(d, 'ann_file', None) for d in base_datasets(dataset))
        for path in evaluator_ann_files(cfg):
            if path not in ann_files:
                warnings += check_coco_file(
                    path, margin=self.coco_margin, max_pixels=self.max_image_pixels)
        return warnings

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
