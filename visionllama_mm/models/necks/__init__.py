from .simple_fpn import LN2d, SimpleFPN

__all__ = ['LN2d', 'SimpleFPN']
