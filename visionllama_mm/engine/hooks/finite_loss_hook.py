"""Stop training at the first non-finite loss, naming the last checkpoint whose weights
are finite and how to go on with another learning rate."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from ...errors import NonFiniteLossError
from ...registry import HOOKS

#: message-hub key (resumed with the run) of the last checkpoint with finite weights
LAST_FINITE = 'last_finite_ckpt'


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def weights_summary(state_dict: dict) -> tuple:
    """``(all floating tensors finite, max |w| over the finite ones)``."""
    finite, max_abs = True, 0.0
    for value in state_dict.values():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and \
                value.numel():
            ok = torch.isfinite(value)
            finite &= bool(ok.all())
            if ok.any():
                max_abs = max(max_abs, float(value[ok].abs().max()))
    return finite, max_abs


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Check every loss in the train step's outputs after every iteration.

    On the first NaN / inf it raises :class:`NonFiniteLossError` naming the iteration,
    the offending entries and the **last checkpoint whose weights are all finite**
    (checked when each checkpoint is written; the largest ``|w|`` of each is logged so
    a diverging run shows in the log before its loss does), and a command that
    continues from those weights with a lower learning rate. ``--resume`` would bring
    the old learning rate back (the optimizer and scheduler states are resumed), so
    the advice starts a new run from the weights (``load_from``) instead. It runs
    before the checkpoint hook of the same iteration (priority ``ABOVE_NORMAL``), so no
    checkpoint with the broken weights is written. mmengine's ``CheckInvalidLossHook``
    only looks every ``interval`` iterations and asserts without naming a checkpoint.

    ``ReliableRunner`` and ``tools/train.py`` add it to every run unless present.
    """
    priority = 'ABOVE_NORMAL'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict')
        path = runner.message_hub.get_info('last_ckpt')
        if not isinstance(state, dict) or 'optimizer' not in checkpoint or not path:
            return  # only the periodic training checkpoints
        finite, max_abs = weights_summary(state)
        runner.logger.info(f'checkpoint {path}: weights finite={finite}, '
                           f'max |w| = {max_abs:.4g}')
        if finite:
            runner.message_hub.update_info(LAST_FINITE, path)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
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
        good = runner.message_hub.get_info(LAST_FINITE)
        lr = self._current_lr(runner)
        if good:
            where = (f'the last checkpoint with finite weights is {good}. To go on '
                     'from it with a lower learning rate, start a new run from its '
                     f'weights (--resume would restore the learning rate{lr}): '
                     f'`tools/train.py CONFIG --cfg-options load_from={good} '
                     'optim_wrapper.optimizer.lr=<lower>` (the schedule restarts)')
        else:
            where = 'no checkpoint with finite weights was saved before it'
        raise NonFiniteLossError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
            f'{", ".join(f"{k}={v}" for k, v in bad.items())}; {where}. Lower the '
            'learning rate, add gradient clipping or check the data.')

    @staticmethod
    def _current_lr(runner) -> str:
        try:
            lrs = runner.optim_wrapper.get_lr()
        except (AttributeError, TypeError):
            return ''
        values = next(iter(lrs.values()), []) if isinstance(lrs, dict) else []
        return f' {max(values):.3g}' if values else ''
