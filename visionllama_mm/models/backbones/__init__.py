from .pyramid_vision_llama import PyramidVisionLLaMA
from .vision_llama import VisionLLaMA

__all__ = ['PyramidVisionLLaMA', 'VisionLLaMA']
