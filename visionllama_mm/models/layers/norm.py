"""Norm layers that ``norm_cfg`` can name besides mmcv's (``LN``, ``BN``, ``GN``, ...).

``RMSNorm`` is torch's :class:`torch.nn.RMSNorm` (LLaMA's norm, arXiv 1910.07467):
``x / sqrt(mean(x²) + eps) * weight``, no mean subtraction, no bias. Registered under
that name in every scope, so ``norm_cfg=dict(type='RMSNorm', eps=1e-6)`` switches every
norm of a backbone of the package (its parameters are ``weight`` only, so LayerNorm
checkpoints do not load into it).
"""
from torch import nn

from ...registry import MODELS

MODELS.register_module(name='RMSNorm', module=nn.RMSNorm)
