from .layer_decay_constructor import (LayerDecayOptimWrapperConstructor,
                                      find_layer_depth)

__all__ = ['LayerDecayOptimWrapperConstructor', 'find_layer_depth']
