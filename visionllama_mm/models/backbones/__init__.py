from .pyramid_vision_llama import PyramidVisionLLaMA
from .vision_llama import VisionLLaMA

__all__ = ['PyramidVisionLLaMA', 'VisionLLaMA']
from .aim import AIM  # noqa: E402

__all__ += ['AIM']
from .vit_g import ViTG  # noqa: E402

__all__ += ['ViTG']
