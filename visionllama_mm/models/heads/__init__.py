"""Heads of visionllama_mm."""
from .aim_pixel_head import AIMPixelHead  # noqa: F401
from .attention_pooling import AttentionPoolingClassifier, MAPClsHead  # noqa: F401,E402
