from .aim import AIM
from .plain_encoder import PlainEncoder
from .pyramid_vision_llama import PyramidVisionLLaMA
from .vision_llama import VisionLLaMA
from .vit_g import ViTG

__all__ = ['AIM', 'PlainEncoder', 'PyramidVisionLLaMA', 'VisionLLaMA', 'ViTG']
