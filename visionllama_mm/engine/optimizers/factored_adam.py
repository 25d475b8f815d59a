"""Memory-efficient AdamW: bf16 first moment, factored second moment.

The optimizer of "Scaling Vision Transformers" (arXiv 2106.04560, §3.5) is Adafactor
modified back towards Adam: the first moment is kept (in bfloat16) and the second
moment is factored into row and column statistics (Shazeer & Stern, arXiv 1804.04235),
so a ``(R, C)`` weight needs ``2·R·C + 4·(R + C)`` bytes of state instead of Adam's
``8·R·C``. This class implements that as an AdamW step (bias correction, decoupled
weight decay ``θ ← θ - lr·wd·θ`` as PyTorch's ``AdamW``), with optional update clipping.
"""
from typing import Callable, Iterable, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.optim import Optimizer

from ...registry import OPTIMIZERS


def factored_dims(shape: Tuple[int, ...],
                  min_dim_size_to_factor: int) -> Optional[Tuple[int, int]]:
    """``(second-largest dim, largest dim)`` to factor over, or None (full moment).

    As optax's ``scale_by_factored_rms``: parameters with fewer than 2 dims, or whose
    second-largest dim is below ``min_dim_size_to_factor``, are not factored.
    """
    if len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda d: (shape[d], d))
    small, large = order[-2], order[-1]
    if shape[small] < min_dim_size_to_factor:
        return None
    return small, large


@OPTIMIZERS.register_module()
class FactoredAdamW(Optimizer):
    """AdamW with a low-precision first moment and an Adafactor second moment.

    For a gradient ``g`` at step ``t``::

        m_t = β1·m + (1-β1)·g                       (stored in momentum_dtype)
        v_t = β2·v + (1-β2)·g²                      (1-D / small params: full fp32)
        R_t = β2·R + (1-β2)·mean_large(g² + ε₂)     (factored params: row statistics
        C_t = β2·C + (1-β2)·mean_small(g² + ε₂)      and column statistics, fp32)
        v̂_t = R_t ⊗ C_t / mean(R_t)                (rank-1 estimate of v_t)
        u = (m_t / (1-β1^t)) / (sqrt(v̂_t / (1-β2^t)) + ε)
        u = u / max(1, RMS(u) / clip_threshold)     (if clip_threshold)
        θ = θ·(1 - lr·wd) - lr·u

    ``large`` / ``small`` are the parameter's largest and second-largest dims.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. betas: ``(β1, β2)``. eps: ε added to ``sqrt(v̂)``.
        weight_decay: decoupled decay, multiplied by the lr (see
            :mod:`~.decoupled_wd_constructor` for big_vision's variant).
        momentum_dtype: dtype of ``m`` (``torch.bfloat16``; ``torch.float32`` gives
            exact factored-Adam maths). A string such as ``'bfloat16'`` is accepted.
        min_dim_size_to_factor: factor only if the second-largest dim is at least this.
        clip_threshold: clip the update's RMS per parameter (Adafactor's ``d``; None
            disables).
        eps_factored: ε₂ added to ``g²`` for the factored statistics.

    State per parameter: ``step``, ``exp_avg`` and either ``exp_avg_sq`` or
    ``exp_avg_sq_row`` / ``exp_avg_sq_col``.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 0.,
                 momentum_dtype: Union[str, torch.dtype] = torch.bfloat16,
                 min_dim_size_to_factor: int = 32,
                 clip_threshold: Optional[float] = None,
                 eps_factored: float = 1e-30) -> None:
        if isinstance(momentum_dtype, str):
            momentum_dtype = getattr(torch, momentum_dtype, None)
        if momentum_dtype not in (torch.bfloat16, torch.float16, torch.float32,
                                  torch.float64):
            raise ValueError('momentum_dtype must be a float dtype (e.g. '
                             f'torch.bfloat16), got {momentum_dtype!r}')
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f'lr, eps and weight_decay must be >= 0, got {lr}, {eps}, '
                             f'{weight_decay}')
        if not all(0. <= b < 1. for b in betas) or len(betas) != 2:
            raise ValueError(f'betas must be two numbers in [0, 1), got {betas!r}')
        if clip_threshold is not None and clip_threshold <= 0:
            raise ValueError(f'clip_threshold must be > 0 or None, got {clip_threshold}')
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_dtype=momentum_dtype,
            min_dim_size_to_factor=min_dim_size_to_factor,
            clip_threshold=clip_threshold,
            eps_factored=eps_factored)
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, group: dict) -> dict:
        state = self.state[param]
        state['step'] = 0
        state['exp_avg'] = torch.zeros_like(
            param, dtype=group['momentum_dtype'], memory_format=torch.preserve_format)
        dims = factored_dims(tuple(param.shape), group['min_dim_size_to_factor'])
        if dims is None:
            state['exp_avg_sq'] = torch.zeros_like(param, dtype=torch.float32)
        else:
            small, large = dims
            state['exp_avg_sq_row'] = param.new_zeros(
                param.shape[:large] + param.shape[large + 1:], dtype=torch.float32)
            state['exp_avg_sq_col'] = param.new_zeros(
                param.shape[:small] + param.shape[small + 1:], dtype=torch.float32)
        return state

    @torch.no_grad()
    def step(self, closure: Optional[Callable] = None) -> Optional[float]:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group['params']:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError('FactoredAdamW does not support sparse gradients')
                state = self.state[param] if self.state[param] else \
                    self._init_state(param, group)
                self._update(param, state, group)
        return loss

    def _second_moment(self, grad: Tensor, state: dict, beta2: float,
                       group: dict) -> Tensor:
        """Update the second-moment state and return the (biased) estimate of v."""
        if 'exp_avg_sq' in state:
            v = state['exp_avg_sq']
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            return v
        small, large = factored_dims(tuple(grad.shape), group['min_dim_size_to_factor'])
        grad_sq = grad.square() + group['eps_factored']
        row, col = state['exp_avg_sq_row'], state['exp_avg_sq_col']
        row.mul_(beta2).add_(grad_sq.mean(dim=large), alpha=1 - beta2)
        col.mul_(beta2).add_(grad_sq.mean(dim=small), alpha=1 - beta2)
        small_in_row = small - 1 if small > large else small
        row_mean = row.mean(dim=small_in_row, keepdim=True).clamp_min(1e-30)
        return (row / row_mean).unsqueeze(large) * col.unsqueeze(small)

    def _update(self, param: Tensor, state: dict, group: dict) -> None:
        beta1, beta2 = group['betas']
        state['step'] += 1
        step = state['step']
        grad = param.grad.float()
        exp_avg = state['exp_avg']
        momentum = exp_avg.to(
            torch.float32, copy=True).mul_(beta1).add_(
                grad, alpha=1 - beta1)
        # load_state_dict casts state to the parameter dtype: store it back as asked
        state['exp_avg'] = momentum.to(group['momentum_dtype']) \
            if exp_avg.dtype != group['momentum_dtype'] else exp_avg.copy_(momentum)
        v_hat = self._second_moment(grad, state, beta2, group)
        denom = (v_hat / (1 - beta2**step)).sqrt_().add_(group['eps'])
        update = momentum.div_(1 - beta1**step).div_(denom)
        if group['clip_threshold'] is not None:
            rms = update.square().mean().sqrt()  # a tensor: no host sync
            update.div_((rms / group['clip_threshold']).clamp_min(1.))
        lr, wd = group['lr'], group['weight_decay']
        if param.dtype == torch.float32:
            if wd:
                param.mul_(1 - lr * wd)
            param.add_(update, alpha=-lr)
        else:
            new = param.float().mul_(1 - lr * wd).add_(update, alpha=-lr)
            param.copy_(new)

    def state_bytes(self) -> int:
        """Bytes held by the optimizer state tensors."""
        return sum(t.numel() * t.element_size() for s in self.state.values()
                   for t in s.values() if torch.is_tensor(t))
