"""Stop training at the first non-finite loss, naming the last good checkpoint."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from ...registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite; the message names the iteration and the
    last checkpoint written before it."""


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Check every loss in the train step's outputs after every iteration.

    On the first NaN / inf it raises :class:`NonFiniteLossError` naming the iteration,
    the offending entries and the last checkpoint saved (``last_ckpt`` of the message
    hub, which the checkpoint hook sets and resuming restores), and what to do. It runs
    before the checkpoint hook of the same iteration (priority ``ABOVE_NORMAL``), so no
    checkpoint with the broken weights is written. mmengine's ``CheckInvalidLossHook``
    only looks every ``interval`` iterations and asserts without naming a checkpoint.

    ``tools/train.py`` adds it to every run (``custom_hooks``) unless present.
    """
    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        bad = {}
        for key, value in outputs.items():
            if 'loss' not in key:
                continue
            number = _as_float(value)
            if number is not None and not math.isfinite(number):
                bad[key] = number
        if not bad:
            return
        last = runner.message_hub.get_info('last_ckpt')
        where = (f'the last good checkpoint is {last}; resume from it with '
                 f'`tools/train.py CONFIG --resume {last}`' if last else
                 'no checkpoint was saved before it')
        raise NonFiniteLossError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
            f'{", ".join(f"{k}={v}" for k, v in bad.items())}; {where}. Lower the '
            'learning rate, add gradient clipping or check the data before resuming.')
