"""Parameter schedulers of visionllama_mm (registered in PARAM_SCHEDULERS)."""
from .rsqrt import RsqrtLR, RsqrtMomentum, RsqrtParamScheduler, rsqrt_factor

__all__ = ['RsqrtLR', 'RsqrtMomentum', 'RsqrtParamScheduler', 'rsqrt_factor']
