from .layer_decay_constructor import LayerDecayOptimWrapperConstructor, find_layer_depth

__all__ = ['LayerDecayOptimWrapperConstructor', 'find_layer_depth']
from .decoupled_wd_constructor import \
    DecoupledWeightDecayOptimWrapperConstructor  # noqa: E402
from .factored_adam import FactoredAdamW, factored_dims  # noqa: E402

__all__ += [
    'DecoupledWeightDecayOptimWrapperConstructor', 'FactoredAdamW', 'factored_dims'
]
