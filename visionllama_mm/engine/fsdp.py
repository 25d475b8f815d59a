"""Pieces that mmengine's ``FlexibleRunner`` + ``FSDPStrategy`` configs refer to by name.

* ``vllama_block_auto_wrap_policy`` (``FUNCTIONS``): FSDP auto-wrap policy that makes
  each transformer block (:class:`~visionllama_mm.models.layers.TransformerBlock`)
  one FSDP unit, so one
  block's parameters are all-gathered at a time;
* ``vllama_is_block`` (``FUNCTIONS``): the matching ``check_fn`` of the strategy's
  ``activation_checkpointing`` (a checkpoint wrapper inside every FSDP unit);
* ``ShardedClipOptimWrapper`` (``OPTIM_WRAPPERS``): an ``OptimWrapper`` whose
  ``clip_grad=dict(max_norm=...)`` clips by the norm of the **whole** gradient. With
  FSDP (``use_orig_params=True``) every rank holds a shard of each gradient, and
  mmengine's ``OptimWrapper`` would clip each rank by the norm of its own shard; here
  the squared shard norms are all-reduced first (a no-op without a process group).

They live in mmengine's root registries (``mmengine.registry.FUNCTIONS`` /
``OPTIM_WRAPPERS``): mmengine's FSDP wrapper looks policies up there, and every scope
(mmpretrain, mmseg, mmdet) falls back to the root.
"""
from typing import Iterable, Union

import torch
import torch.distributed as dist
from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from ..models.layers import TransformerBlock
from ..registry import FUNCTIONS, OPTIM_WRAPPERS

#: Module classes that become one FSDP unit / one activation checkpoint each.
BLOCK_TYPES = (TransformerBlock, )


@FUNCTIONS.register_module(name='vllama_block_auto_wrap_policy')
def block_auto_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                           **kwargs) -> bool:
    """FSDP ``auto_wrap_policy``: wrap every ViT / VisionLLaMA block."""
    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy
    return transformer_auto_wrap_policy(
        module, recurse, nonwrapped_numel, transformer_layer_cls=set(BLOCK_TYPES))


@FUNCTIONS.register_module(name='vllama_is_block')
def is_block(module: nn.Module) -> bool:
    """``check_fn`` of ``FSDPStrategy(activation_checkpointing=...)``."""
    return isinstance(module, BLOCK_TYPES)


def sharded_clip_grad_norm_(parameters: Union[Tensor, Iterable[Tensor]],
                            max_norm: float,
                            norm_type: float = 2.0,
                            eps: float = 1e-6) -> Tensor:
    """``clip_grad_norm_`` over gradients sharded across ranks (2-norm).

    The total norm is ``sqrt(all_reduce(sum of squared local norms))``; every rank
    then scales its shards by the same ``min(1, max_norm / (norm + eps))``.
    """
    if float(norm_type) != 2.0:
        raise ValueError(f'sharded gradient clipping supports norm_type=2, got '
                         f'{norm_type}')
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    device = grads[0].device if grads else torch.device('cpu')
    squares = torch.zeros((), device=device, dtype=torch.float32)
    for grad in grads:
        squares = squares + grad.detach().float().square().sum()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(squares)
    total = squares.sqrt()
    scale = torch.clamp(max_norm / (total + eps), max=1.0)
    for grad in grads:
        grad.detach().mul_(scale.to(grad.dtype))
    return total


@OPTIM_WRAPPERS.register_module()
class ShardedClipOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose gradient-norm clipping sees the whole (sharded)
    gradient; use it with ``FSDPStrategy`` and ``clip_grad=dict(max_norm=...)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, 'clip_grad_kwargs', None) and \
                self.clip_func is torch.nn.utils.clip_grad_norm_:
            self.clip_func = sharded_clip_grad_norm_
