from .mae_vision_llama import MAEVisionLLaMA

__all__ = ['MAEVisionLLaMA']
