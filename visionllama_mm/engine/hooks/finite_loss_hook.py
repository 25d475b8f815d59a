"""Stop training when the loss becomes NaN / inf or leaves its normal range for good,
naming the last checkpoint saved before it left that range and how to go on from it
with another learning rate."""
import math
from collections import deque
from statistics import median
from typing import Dict, Optional, Tuple

import torch
from mmengine.hooks import Hook

from ...errors import LossSpikeError, NonFiniteLossError
from ...registry import HOOKS

#: message-hub key (resumed with the run) of the last healthy checkpoint: finite
#: weights, and the loss of the iteration after it inside its normal range.
LAST_HEALTHY = 'last_healthy_ckpt'
ON_SPIKE = ('error', 'warn')


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


def _reduced(total: float, bad: int) -> Tuple[float, int]:
    """Mean total loss and number of non-finite entries over all ranks, so every rank
    stops at the same iteration (one rank stopping alone would hang the others)."""
    from mmengine.dist import all_reduce, get_world_size
    world = get_world_size()
    if world == 1:
        return total, bad
    values = torch.tensor([total, float(bad)], dtype=torch.float64)
    all_reduce(values, op='sum')
    return float(values[0]) / world, int(values[1])


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Check the loss after every training iteration; stop at a NaN / inf loss and at
    a loss that leaves its normal range for ``spike_patience`` iterations.

    **Normal range**: a loss (the total ``loss`` of the train step's outputs, averaged
    over the ranks) is out of range when it is over ``spike_factor`` times the median
    of the last ``spike_window`` in-range losses (judged from the second iteration
    on; a median <= 0 judges nothing). The first out-of-range iteration is logged as
    a warning; when the loss has stayed out for ``spike_patience`` iterations in a
    row, :class:`LossSpikeError` stops the run (``on_spike='error'``) or a second
    warning says so (``'warn'``). ``lr=10`` on the classification demo took the loss
    from 1.1 to 640 and trained on at chance accuracy without a word.

    **The advice.** A checkpoint is *healthy* when its weights are all finite (checked
    as it is written; its largest ``|w|`` is logged, so a diverging run shows in the
    log) **and** the loss of the next iteration, the first computed with those
    weights, is in range. The first non-finite loss raises
    :class:`~visionllama_mm.errors.NonFiniteLossError` naming the iteration, the
    offending entries and the last healthy checkpoint, and the spike stop names it
    too, with a command that starts a new run from its weights with a lower learning
    rate (``--resume`` would bring the old learning rate back with the optimizer and
    scheduler states). A checkpoint written after the loss left its range is never
    named, even with finite weights: at ``lr=1000`` the loss jumps at iteration 2,
    ``iter_3.pth`` still has finite weights (``max |w|`` about 5000) and a run from
    it diverges at any learning rate. The hook runs before the checkpoint hook of the
    same iteration (priority ``ABOVE_NORMAL``), so no checkpoint of that iteration's
    weights is written after a stop. mmengine's ``CheckInvalidLossHook`` only looks
    every ``interval`` iterations and asserts without naming a checkpoint.

    ``ReliableRunner`` and ``tools/train.py`` add it to every run unless present.

    Args:
        spike_factor: how many times its running median a loss may reach; None or 0
            switches the spike guard off (NaN / inf still stop).
        spike_window: how many recent in-range losses the median is taken over.
        spike_patience: out-of-range iterations in a row before ``on_spike`` acts.
        on_spike: ``'error'`` (stop) or ``'warn'``.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 spike_factor: Optional[float] = 10.0,
                 spike_window: int = 100,
                 spike_patience: int = 20,
                 on_spike: str = 'error') -> None:
        if spike_factor is not None and not (isinstance(spike_factor, (int, float)) and
                                             (spike_factor == 0 or spike_factor > 1)):
            raise ValueError('FiniteLossHook spike_factor must be a number > 1 (or None '
                             f'/ 0 to switch the spike guard off), got {spike_factor!r}')
        for name, value in (('spike_window', spike_window), ('spike_patience',
                                                             spike_patience)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'FiniteLossHook {name} must be an int >= 1, got '
                                 f'{value!r}')
        if on_spike not in ON_SPIKE:
            raise ValueError(f'FiniteLossHook on_spike must be one of {ON_SPIKE}, got '
                             f'{on_spike!r}')
        self.spike_factor = spike_factor or None
        self.spike_patience = spike_patience
        self.on_spike = on_spike
        self.history: deque = deque(maxlen=spike_window)
        self.left_range_at: Optional[int] = None  # 1-based iteration
        self.pending: Optional[str] = None  # last checkpoint, awaiting its next loss

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict')
        path = runner.message_hub.get_info('last_ckpt')
        if not isinstance(state, dict) or 'optimizer' not in checkpoint or not path:
            return  # only the periodic training checkpoints
        finite, max_abs = weights_summary(state)
        runner.logger.info(f'checkpoint {path}: weights finite={finite}, '
                           f'max |w| = {max_abs:.4g}')
        self.pending = path if finite and self.left_range_at is None else None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        losses: Dict[str, float] = {}
        for key, value in (outputs or {}).items():
            number = _as_float(value) if 'loss' in key else None
            if number is not None:
                losses[key] = number
        if not losses:
            return
        total = losses.get('loss', sum(losses.values()))
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        total, num_bad = _reduced(total, len(bad))
        iteration = runner.iter + 1
        if num_bad:
            shown = ', '.join(f'{k}={v}' for k, v in bad.items()) or 'on another rank'
            raise NonFiniteLossError(
                f'non-finite loss at iteration {iteration} (epoch {runner.epoch + 1}): '
                f'{shown}; {self._advice(runner)}. Lower the learning rate, add '
                'gradient clipping or check the data.')
        reference = median(self.history) if self.history else None
        if not self.spike_factor or reference is None or reference <= 0 or \
                total <= self.spike_factor * reference:
            self.history.append(total)
            self.left_range_at = None
            if self.pending is not None:
                runner.message_hub.update_info(LAST_HEALTHY, self.pending)
                self.pending = None
            return
        self.pending = None  # its weights gave this loss
        if self.left_range_at is None:
            self.left_range_at = iteration
            runner.logger.warning(
                f'loss {total:.4g} at iteration {iteration} is over spike_factor='
                f'{self.spike_factor:g} times its running median {reference:.4g}: the '
                'loss left its normal range (FiniteLossHook stops the run if it stays '
                f'out for spike_patience={self.spike_patience} iterations)')
        if iteration - self.left_range_at + 1 != self.spike_patience:
            return
        advice = self._advice(runner)
        message = (
            f'the loss has stayed over spike_factor={self.spike_factor:g} times its '
            f'running median ({reference:.4g}) for {self.spike_patience} iterations, '
            f'since iteration {self.left_range_at} (now {total:.4g} at iteration '
            f'{iteration}, epoch {runner.epoch + 1}): the training diverges. '
            f'{advice[0].upper()}{advice[1:]}. Lower the '
            'learning rate or add gradient clipping (optim_wrapper.clip_grad). '
            "FiniteLossHook(on_spike='warn') only warns, spike_factor=None switches "
            'this guard off')
        if self.on_spike == 'error':
            raise LossSpikeError(message)
        runner.logger.warning(message)

    @staticmethod
    def _advice(runner) -> str:
        good = runner.message_hub.get_info(LAST_HEALTHY)
        if not good:
            return ('no checkpoint was saved before the loss left its normal range: '
                    'start again with a lower learning rate (`tools/train.py CONFIG '
                    '--cfg-options optim_wrapper.optimizer.lr=<lower>`)')
        lr = FiniteLossHook._current_lr(runner)
        return (f'the last healthy checkpoint (finite weights, saved before the loss '
                f'left its normal range) is {good}. To go on from it with a lower '
                'learning rate, start a new run from its weights (--resume would '
                f'restore the learning rate{lr}): `tools/train.py CONFIG --cfg-options '
                f'load_from={good} optim_wrapper.optimizer.lr=<lower>` (the schedule '
                'restarts)')

    @staticmethod
    def _current_lr(runner) -> str:
        try:
            lrs = runner.optim_wrapper.get_lr()
        except (AttributeError, TypeError):
            return ''
        values = next(iter(lrs.values()), []) if isinstance(lrs, dict) else []
        return f' {max(values):.3g}' if values else ''
