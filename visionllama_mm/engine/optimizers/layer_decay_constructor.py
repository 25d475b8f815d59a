"""Layer-wise learning-rate decay for any model whose backbone has ``get_layer_depth``."""
from functools import partial
from typing import Callable, List, Optional

from mmengine.model import is_model_wrapper
from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor
from torch import nn

from ...registry import OPTIM_WRAPPER_CONSTRUCTORS


def find_layer_depth(model: nn.Module) -> Callable:
    """The model's own ``get_layer_depth`` or its backbone's (prefix ``backbone.``).

    Raises ``TypeError`` naming the classes when neither exists.
    """
    if is_model_wrapper(model):
        model = model.module
    if hasattr(model, 'get_layer_depth'):
        return model.get_layer_depth
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and hasattr(backbone, 'get_layer_depth'):
        return partial(backbone.get_layer_depth, prefix='backbone.')
    raise TypeError(
        f'layer-wise LR decay needs get_layer_depth(param_name, prefix) on the model '
        f'({type(model).__name__}) or its backbone '
        f'({type(backbone).__name__ if backbone is not None else "none"})')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-decay constructor for classifiers, segmentors and detectors.

    mmseg's ``LearningRateDecayOptimizerConstructor`` dispatches on a fixed list of
    backbone class names; mmpretrain's needs ``get_layer_depth`` on the top-level
    model. This one asks the model, else its backbone, so every backbone of the
    package (and any other with ``get_layer_depth``) works in every scope. A parameter
    at depth ``i`` of ``n`` gets ``lr * layer_decay_rate ** (n - i - 1)``; the other
    ``paramwise_cfg`` keys (``custom_keys``, ``flat_decay_mult``, ...) behave as in
    mmpretrain::

        optim_wrapper = dict(
            constructor='LayerDecayOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            paramwise_cfg=dict(layer_decay_rate=0.65, flat_decay_mult=0.0))
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None and prefix == '':
            get_layer_depth = find_layer_depth(module)
        super().add_params(
            params, module, prefix=prefix, get_layer_depth=get_layer_depth, **kwargs)
