"""Linear warmup, reciprocal-square-root decay, linear cooldown (big_vision ``rsqrt``).

The schedule of "Scaling Vision Transformers" (arXiv 2106.04560, §3.6): with ``t``
counted from ``begin``, ``T = end - begin``, warmup ``W``, cooldown ``C`` and timescale
``τ``, the value is ``base · f(t)`` with::

    f(t) = min(1, t / W)                         (warmup; 1 if W = 0)
         · 1 / sqrt(1 + max(t - W, 0) / τ)       (rsqrt decay after the warmup)
         · min(1, (T - t) / C)                   (cooldown to 0 at t = T; 1 if C = 0)

as big_vision's ``create_learning_rate_schedule(decay_type='rsqrt')`` (shift 0): ``f``
is 0 at the first step (``t = 0``) and reaches 0 again at ``t = T``, so the last step
that runs (``T - 1``) uses ``1 / C`` of the decayed value. It is
a closed form of the initial value: it does not chain with other schedulers acting on
the same parameter in the same steps.
"""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from ...registry import PARAM_SCHEDULERS


def rsqrt_factor(step: float, total: float, warmup_steps: float, cooldown_steps: float,
                 timescale: float) -> float:
    """``f(t)`` of the module docstring."""
    factor = 1. / math.sqrt(1. + max(step - warmup_steps, 0.) / timescale)
    if warmup_steps > 0:
        factor *= min(1., step / warmup_steps)
    if cooldown_steps > 0:
        factor *= max(0., min(1., (total - step) / cooldown_steps))
    return factor


@PARAM_SCHEDULERS.register_module()
class RsqrtParamScheduler(_ParamScheduler):
    """Warmup -> ``1/sqrt`` decay -> cooldown of any optimizer parameter.

    Args:
        optimizer: optimizer or optim wrapper.
        param_name: parameter to schedule (``'lr'``, ``'momentum'``...).
        warmup_steps: linear warmup length from 0 (steps, or epochs if ``by_epoch``).
        cooldown_steps: linear cooldown to 0 at ``end`` (needs a finite ``end``).
        timescale: ``τ``; the value halves ``3·τ`` steps after the warmup.
        begin / end: steps (or epochs) where the scheduler acts; ``T = end - begin``.
        last_step / by_epoch / verbose: as mmengine's schedulers. With
            ``convert_to_iter_based=True`` every length above (including
            ``timescale``) is multiplied by the epoch length.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 warmup_steps: float = 0,
                 cooldown_steps: float = 0,
                 timescale: float = 10_000,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if warmup_steps < 0 or cooldown_steps < 0:
            raise ValueError('warmup_steps and cooldown_steps must be >= 0, got '
                             f'{warmup_steps} and {cooldown_steps}')
        if timescale <= 0:
            raise ValueError(f'timescale must be > 0, got {timescale}')
        if cooldown_steps and end == INF:
            raise ValueError('cooldown_steps > 0 needs a finite end (the cooldown '
                             'reaches 0 at end)')
        if end != INF and warmup_steps + cooldown_steps > end - begin:
            raise ValueError(f'warmup_steps ({warmup_steps}) + cooldown_steps '
                             f'({cooldown_steps}) exceed end - begin ({end - begin})')
        self.warmup_steps = warmup_steps
        self.cooldown_steps = cooldown_steps
        self.timescale = timescale
        self.total_steps = end - begin
        # mmengine's _ParamScheduler(optimizer, param_name, begin, end, last_step,
        # by_epoch, verbose)
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              warmup_steps: float = 0,
                              cooldown_steps: float = 0,
                              timescale: float = 10_000,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: int = None,
                              **kwargs):
        """Epoch-based config -> iteration-based scheduler (all lengths scaled)."""
        if not by_epoch:
            raise ValueError('convert_to_iter_based needs by_epoch=True')
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'epoch_length must be a positive int, got {epoch_length}')
        return cls(
            *args,
            warmup_steps=warmup_steps * epoch_length,
            cooldown_steps=cooldown_steps * epoch_length,
            timescale=timescale * epoch_length,
            begin=int(begin * epoch_length),
            end=end if end == INF else int(end * epoch_length),
            by_epoch=False,
            **kwargs)

    def factor(self, step: float) -> float:
        return rsqrt_factor(step, self.total_steps, self.warmup_steps,
                            self.cooldown_steps, self.timescale)

    def _get_value(self):
        factor = self.factor(self.last_step)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class RsqrtLR(LRSchedulerMixin, RsqrtParamScheduler):
    """:class:`RsqrtParamScheduler` of the learning rate (see its arguments)."""


@PARAM_SCHEDULERS.register_module()
class RsqrtMomentum(MomentumSchedulerMixin, RsqrtParamScheduler):
    """:class:`RsqrtParamScheduler` of the momentum (SGD) or ``betas[0]`` (Adam)."""
