"""Separate weight decay for the head and the body ("Scaling Vision Transformers", §3.4).

ViT-G/14 (arXiv 2106.04560) decays the final linear layer ("head") far more strongly
than the rest ("body"): head 3.0, body 0.03, which helps few-shot transfer. Their values
are "decoupled" in the AdamW sense (the decay is applied to the weights directly, not
added to the gradient and so not rescaled by Adam's second moment) and were applied
multiplied by the learning rate, i.e. ``θ ← θ - lr_t · wd · θ`` -- which is what
PyTorch's ``AdamW`` and :class:`~..factored_adam.FactoredAdamW` do with a group's
``weight_decay``.

big_vision's current ``optax.py`` instead multiplies ``wd`` by the *schedule* only
(``θ ← θ - s(t) · (lr · u + wd · θ)`` with ``s`` peaking at 1), so its ``config.wd``
equals the paper's value times the base learning rate. ``decay_mode='schedule'`` gives
that behaviour here: the group's ``weight_decay`` is stored as ``wd / group_lr``, so the
optimizer's ``lr_t · weight_decay`` equals ``s(t) · wd`` whatever the base lr (and any
``lr_mult``) is.
"""
from typing import Optional, Sequence, Union

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from ...registry import OPTIM_WRAPPER_CONSTRUCTORS

DECAY_MODES = ('lr', 'schedule')
OWN_KEYS = ('head_prefix', 'head_weight_decay', 'body_weight_decay', 'no_decay_flat',
            'no_decay_keys', 'decay_mode')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DecoupledWeightDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus head / body weight decay.

    ``paramwise_cfg`` keys of its own (the others behave as in
    ``DefaultOptimWrapperConstructor``: ``custom_keys``, ``bias_lr_mult`` etc. set the
    groups' lr first; the default's ``*_decay_mult`` rules are superseded by these):

    - ``head_prefix`` (str or tuple, default ``'head.'``): parameters whose full name
      starts with it are the head.
    - ``head_weight_decay`` (float, default ``optimizer.weight_decay``): head decay.
    - ``body_weight_decay`` (float, default ``optimizer.weight_decay``): body decay.
    - ``no_decay_flat`` (bool, default True): no decay for 1-D parameters (biases,
      norms), as big_vision decays only kernels.
    - ``no_decay_keys`` (tuple of str, default ``('pos_embed',)``): substrings of
      parameter names that get no decay (e.g. ``'.latent'`` of a MAP head).
    - ``decay_mode`` (``'lr'`` or ``'schedule'``, default ``'lr'``): ``'lr'`` stores the
      decays as given (the optimizer applies ``lr_t · wd``, PyTorch ``AdamW``
      semantics, the paper's values); ``'schedule'`` stores ``wd / group_lr`` so the
      applied decay is ``s(t) · wd`` (big_vision's semantics, see the module doc).

    A ``custom_keys`` entry with an explicit ``decay_mult`` wins over these rules.
    Every parameter group gets ``param_name``. Example (the paper)::

        optim_wrapper = dict(
            constructor='DecoupledWeightDecayOptimWrapperConstructor',
            optimizer=dict(type='FactoredAdamW', lr=8e-4, weight_decay=0.03),
            paramwise_cfg=dict(head_weight_decay=3.0, body_weight_decay=0.03))
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        base_wd = optim_wrapper_cfg.get('optimizer', {}).get('weight_decay', 0.)
        paramwise_cfg.setdefault('head_prefix', 'head.')
        paramwise_cfg.setdefault('head_weight_decay', base_wd)
        paramwise_cfg.setdefault('body_weight_decay', base_wd)
        paramwise_cfg.setdefault('no_decay_flat', True)
        paramwise_cfg.setdefault('no_decay_keys', ('pos_embed', ))
        paramwise_cfg.setdefault('decay_mode', 'lr')
        self._check(paramwise_cfg)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    @staticmethod
    def _check(cfg: dict) -> None:
        if cfg['decay_mode'] not in DECAY_MODES:
            raise ValueError(f'paramwise_cfg.decay_mode must be one of {DECAY_MODES}, '
                             f'got {cfg["decay_mode"]!r}')
        for key in ('head_weight_decay', 'body_weight_decay'):
            if not isinstance(cfg[key], (int, float)) or cfg[key] < 0:
                raise ValueError(f'paramwise_cfg.{key} must be a number >= 0, got '
                                 f'{cfg[key]!r}')
        if not isinstance(cfg['head_prefix'], (str, tuple, list)):
            raise TypeError('paramwise_cfg.head_prefix must be a str or tuple of str, '
                            f'got {cfg["head_prefix"]!r}')
        if isinstance(cfg['no_decay_keys'], str):
            raise TypeError('paramwise_cfg.no_decay_keys must be a tuple of str, got '
                            f'the string {cfg["no_decay_keys"]!r}')

    def add_params(self,
                   params: list,
                   module: nn.Module,
                   prefix: str = '',
                   **kwargs) -> None:
        start = len(params)
        super().add_params(params, module, prefix=prefix, **kwargs)
        if prefix:  # recursive call: the top-level call post-processes every group
            return
        if is_model_wrapper(module):
            module = module.module
        names = {id(p): n for n, p in module.named_parameters(remove_duplicate=False)}
        for group in params[start:]:
            group['param_name'] = names[id(group['params'][0])]
            group['weight_decay'] = self.decay_of(group)

    def decay_of(self, group: dict) -> float:
        """Weight decay stored in a group (see ``decay_mode``)."""
        cfg = self.paramwise_cfg
        name, param = group['param_name'], group['params'][0]
        if 'decay_mult' in group:  # explicit custom_keys setting
            wd = group['weight_decay']
        elif (cfg['no_decay_flat'] and param.ndim <= 1) or \
                any(key in name for key in cfg['no_decay_keys']):
            wd = 0.
        elif name.startswith(tuple(self._as_tuple(cfg['head_prefix']))):
            wd = cfg['head_weight_decay']
        else:
            wd = cfg['body_weight_decay']
        if cfg['decay_mode'] == 'schedule' and wd:
            lr = group.get('lr', self.base_lr)
            if not lr:
                raise ValueError(f"decay_mode='schedule' divides by the lr, but "
                                 f'{name} has lr={lr!r}')
            wd = wd / lr
        return float(wd)

    @staticmethod
    def _as_tuple(value: Union[str, Sequence[str]]) -> Sequence[str]:
        return (value, ) if isinstance(value, str) else tuple(value)
