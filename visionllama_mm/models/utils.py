"""Small argument helpers shared by the backbones.

Every argument error is a :class:`~visionllama_mm.errors.ModelArgumentError` (a
``ValueError``) that names the argument, the allowed values and what was given.
"""
import inspect
import math
from typing import TYPE_CHECKING, Dict, List, Mapping, Sequence, Tuple, Union

from ..errors import ModelArgumentError

if TYPE_CHECKING:
    import torch


def to_2tuple(value: Union[int, Sequence[int]], name: str = 'value') -> Tuple[int, int]:
    """``224 -> (224, 224)``; ``(h, w)`` unchanged. Both must be positive ints; errors
    name the parameter ``name`` and the value."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(_is_int(v) and v > 0 for v in pair):
        raise ModelArgumentError(
            f'{name} must be a positive int or (h, w) positive ints, '
            f'got {value!r}')
    return pair


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_ints(name: str, value: Union[int, Sequence[int]]) -> None:
    """Raise ``ModelArgumentError`` naming ``name`` unless ``value`` is an int >= 1 or a
    non-empty list / tuple of them (per-stage settings)."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values or not all(_is_int(v) and v >= 1 for v in values):
        raise ModelArgumentError(
            f'{name} must be a positive int (>= 1) or a list of them, '
            f'got {value!r}')


def check_rate(name: str, value: float, example: str = '0.1') -> None:
    """A dropout-like probability must be a number in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (math.isfinite(value) and 0 <= value < 1):
        raise ModelArgumentError(f'{name} must be a number in [0, 1) (e.g. {example}; 0 '
                                 f'disables it), got {value!r}')


def drop_path_rates(rate: float, num: int, mode: str = 'linear') -> List[float]:
    """Per-block drop-path rates: ``'linear'`` ramps from 0 to ``rate`` over ``num``
    blocks (``torch.linspace`` in plain Python floats, so a backbone builds under
    ``torch.device('meta')``), ``'uniform'`` uses ``rate`` everywhere. ``rate`` (the
    backbones' ``drop_path_rate``) must be in ``[0, 1)``: at 1 every block would be
    dropped and the kept ones divided by 0."""
    check_rate('drop_path_rate', rate)
    if mode == 'uniform':
        return [rate] * num
    if mode != 'linear':
        raise ModelArgumentError(
            f"drop_path_mode must be 'linear' or 'uniform', got {mode!r}")
    if num <= 1:
        return [0.] * num
    return [rate * i / (num - 1) for i in range(num)]


def check_choice(name: str, value, allowed: Sequence) -> None:
    """An error naming ``name`` and the allowed values unless ``value`` is one."""
    if value not in allowed:
        raise ModelArgumentError(f'{name} must be one of {tuple(allowed)}, got {value!r}')


def check_input_size(x: 'torch.Tensor', patch_size: int) -> None:
    """An input ``(B, C, H, W)`` must hold at least one ``patch_size`` patch."""
    if x.shape[-2] < patch_size or x.shape[-1] < patch_size:
        raise ValueError(f'input {tuple(x.shape[-2:])} is smaller than one patch '
                         f'(patch_size={patch_size})')


def run_layer(layer: 'torch.nn.Module',
              x: 'torch.Tensor',
              with_cp: bool = False,
              **context) -> 'torch.Tensor':
    """``layer(x, **context)``, with activation checkpointing when ``with_cp`` (pass
    ``self.with_cp and self.training``) and ``x`` needs gradients."""
    if with_cp and x.requires_grad:
        from torch.utils.checkpoint import checkpoint
        return checkpoint(layer, x, use_reentrant=False, **context)
    return layer(x, **context)


def normalize_out_indices(out_indices: Union[int, Sequence[int]],
                          num_layers: int,
                          unit: str = 'layers',
                          name: str = 'out_indices') -> List[int]:
    """Resolve negative indices; raise if any is outside ``[-num_layers, num_layers)``
    (``unit`` names what is counted in the error: ``'layers'`` or ``'stages'``;
    ``name`` the argument: ``'out_indices'``, ``'window_block_indexes'``)."""
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    resolved = []
    for index in out_indices:
        if not _is_int(index) or not -num_layers <= index < num_layers:
            raise ModelArgumentError(
                f'{name} entry {index!r} is out of range: allowed '
                f'{-num_layers}..{num_layers - 1} for {num_layers} {unit}; count '
                f'the {unit} of this arch (negative indices count from the end)')
        resolved.append(index % num_layers)
    return resolved


def load_pretrained(module: 'torch.nn.Module', init_cfg: dict) -> None:
    """``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` with a report.

    Kept beside mmengine's ``PretrainedInit``, which unpickles the file and only logs a
    key mismatch: here loading is weights-only and a mismatch is an error.

    Loads weights-only (:func:`~visionllama_mm.engine.load_checkpoint_file` for local
    files: a pickled or damaged file is an error naming it), keeps the keys under
    ``prefix`` (stripped), and loads them non-strictly, logging missing and unexpected
    keys. A file with **no** key in common with the module is an error naming the file
    and an example of the keys expected, never a silent random init.
    """
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import _load_checkpoint

    from ..fileio import load_checkpoint_file

    path = init_cfg['checkpoint']
    prefix = init_cfg.get('prefix', '') or ''
    checkpoint = (
        _load_checkpoint(path, map_location='cpu')
        if '://' in str(path) else load_checkpoint_file(path))
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    matching = [k for k in state if k in own]
    if not matching:
        raise ValueError(
            f'pretrained checkpoint {path} has no key in common with '
            f'{type(module).__name__} (prefix={prefix!r}): it holds e.g. '
            f'{list(state)[:3]}, the model expects e.g. {list(own)[:3]}. Convert it '
            'with tools/model_converters/ or fix init_cfg.prefix.')
    mismatched = [k for k in matching if state[k].shape != own[k].shape]
    if mismatched:
        raise ValueError(f'pretrained checkpoint {path}: shape mismatch for '
                         f'{mismatched[:5]} (e.g. {tuple(state[mismatched[0]].shape)} vs '
                         f'{tuple(own[mismatched[0]].shape)})')
    result = module.load_state_dict(state, strict=False)
    print_log(
        f'{type(module).__name__}: loaded {len(matching)}/{len(own)} tensors '
        f'from {path}; missing keys: {result.missing_keys or "none"}; '
        f'unexpected keys: {result.unexpected_keys or "none"}',
        logger='current')


def parse_arch(arch: Union[str, Dict], zoo: Mapping[str, Dict],
               essential_keys: Sequence[str]) -> Dict:
    """A copy of ``zoo[arch]`` or of a custom arch dict; errors list the choices."""
    if isinstance(arch, str):
        key = arch.lower()
        if key not in zoo:
            raise ModelArgumentError(
                f'arch {arch!r} is not one of {sorted(zoo)} (or pass a dict)')
        return dict(zoo[key])
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a str or dict, got {type(arch).__name__}')
    missing = [k for k in essential_keys if k not in arch]
    if missing:
        raise ModelArgumentError(f'custom arch dict misses keys {missing}; it needs '
                                 f'{list(essential_keys)}')
    for key in (*essential_keys, 'feedforward_channels'):
        if arch.get(key) is not None:
            check_positive_ints(f'arch {key}', arch[key])
    return dict(arch)


def init_from_pretrained(module) -> bool:
    """Load ``module.init_cfg`` if it is a ``Pretrained`` one (see
    :func:`load_pretrained`); returns whether it was."""
    init_cfg = module.init_cfg
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        load_pretrained(module, init_cfg)
        module._is_init = True
        return True
    return False


def freeze(modules: Sequence['torch.nn.Module'], params: Sequence = ()) -> None:
    """Put ``modules`` in eval mode and stop gradients to them and to ``params``."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False
    for param in params:
        param.requires_grad = False


class FrozenStagesMixin:
    """mmpretrain's ``frozen_stages`` convention for the backbones of the package.

    The backbone lists what ``frozen_stages`` freezes in :meth:`frozen_parts`
    (``(modules, parameters)``); :meth:`_freeze_stages` freezes them at build time and
    :meth:`train` keeps them in eval mode (dropout, BatchNorm) whatever the mode.
    """

    def frozen_parts(self) -> Tuple[List, List]:
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        if self.frozen_stages > 0:
            freeze(*self.frozen_parts())

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self


def passed_on(cls: type, values: Dict) -> Dict:
    """What a backbone subclass's ``__init__`` passes on to its base class's: the
    entries of ``values`` (its ``locals()``) that the base ``__init__`` takes, then
    its ``**kwargs``. The subclass writes a default once, in its signature:
    ``super().__init__(**passed_on(AIM, locals()))``."""
    base = inspect.signature(super(cls, cls).__init__).parameters
    own = {name: values[name] for name in base if name != 'self' and name in values}
    return {**own, **values.get('kwargs', {})}


def inherit_signature(cls: type) -> None:
    """Show the arguments a subclass passes on with ``**kwargs`` in its signature.

    A backbone subclass writes the arguments it adds and the defaults that differ
    (``def __init__(self, arch='b', out_type='cls_token', **kwargs)``) and passes the
    rest on. This sets ``cls.__init__.__signature__`` to its own arguments followed by
    the base class's others (keyword-only, with the base's defaults), so
    ``inspect.signature(cls)`` lists every argument with the default that class
    takes: one place per default, read by documentation and pre-flight checks.
    """
    init = cls.__dict__.get('__init__')
    if init is None:
        return
    own = inspect.signature(init)
    kinds = inspect.Parameter
    if not any(p.kind == kinds.VAR_KEYWORD for p in own.parameters.values()):
        return
    params = [p for p in own.parameters.values() if p.kind != kinds.VAR_KEYWORD]
    names = {p.name for p in params}
    for param in list(inspect.signature(super(cls, cls).__init__).parameters.values()):
        if param.name in names or param.name == 'self' or \
                param.kind == kinds.VAR_POSITIONAL:
            continue
        params.append(param if param.kind == kinds.VAR_KEYWORD else param.replace(
            kind=kinds.KEYWORD_ONLY))
    init.__signature__ = own.replace(parameters=params)
