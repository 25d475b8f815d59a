from .vision_llama import VisionLLaMA

__all__ = ['VisionLLaMA']
