from .mae_vision_llama import MAEVisionLLaMA

__all__ = ['MAEVisionLLaMA']
from .aim_pretrain import AIMPretrain  # noqa: E402

__all__ += ['AIMPretrain']
