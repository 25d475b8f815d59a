"""Check each input image's channel count before it reaches the model."""
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...registry import HOOKS


def expected_channels(model) -> Optional[int]:
    """The channels the model's first convolution (the patch embedding / stem) takes,
    else the length of the data preprocessor's ``mean``."""
    model = model.module if is_model_wrapper(model) else model
    backbone = getattr(model, 'backbone', model)
    for module in backbone.modules():
        if isinstance(module, torch.nn.Conv2d):
            return module.in_channels
    mean = getattr(getattr(model, 'data_preprocessor', None), 'mean', None)
    return int(mean.numel()) if isinstance(mean, torch.Tensor) else None


@HOOKS.register_module()
class InputChannelsHook(Hook):
    """Raise a clear error when an image has the wrong number of channels.

    A grayscale (1-channel) or RGBA (4-channel) image loaded with
    ``LoadImageFromFile(color_type='unchanged')`` otherwise fails deep in the model,
    or worse, a 1-channel image is silently broadcast to 3 by the data preprocessor's
    normalisation. ``LoadImageFromFile`` with the default ``color_type='color'``
    converts both to 3 channels, which is what the configs here use.

    Before every train / val / test iteration the unbatched inputs (``C, H, W``) are
    compared with ``channels`` (default: the model's first convolution's
    ``in_channels``); the error names the image file, its shape and the allowed count.
    ``tools/train.py`` and ``tools/test.py`` add it to every run unless present.
    """
    priority = 'VERY_HIGH'

    def __init__(self, channels: Optional[int] = None) -> None:
        self.channels = channels

    def before_run(self, runner) -> None:
        if self.channels is None:
            self.channels = expected_channels(runner.model)

    def check(self, data_batch) -> None:
        if self.channels is None or not isinstance(data_batch, dict):
            return
        inputs = data_batch.get('inputs')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.dim() == 4 else [inputs]
        if not isinstance(inputs, Sequence):
            return
        samples = data_batch.get('data_samples') or [None] * len(inputs)
        for image, sample in zip(inputs, samples):
            if not isinstance(image, torch.Tensor) or image.dim() != 3:
                continue
            if image.shape[0] != self.channels:
                path = getattr(sample, 'img_path', None) if sample is not None else None
                raise ValueError(
                    f'image {path or "(unknown file)"} has {image.shape[0]} channels '
                    f'(shape C,H,W = {tuple(image.shape)}), but the model takes '
                    f'in_channels={self.channels}. Grayscale and RGBA files are '
                    "converted to 3 channels by LoadImageFromFile(color_type='color') "
                    '(the default); or convert the file.')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check(data_batch)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check(data_batch)

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.check(data_batch)
