"""The arguments a config gives its hooks, checked against the hook classes before the
runner is built.

mmengine's ``CheckpointHook`` takes ``**kwargs`` and passes them to
``Runner.save_checkpoint`` at the first save, so ``default_hooks.checkpoint.intervall=1``
is accepted and fails only after the first epoch has been trained (and is lost).
:func:`check_hook_args` compares the keys of every ``default_hooks`` and
``custom_hooks`` entry with the parameters of its class: the named parameters of each
``__init__`` up the class hierarchy while ``**kwargs`` are passed to ``super()``, and
for the two hooks that send ``**kwargs`` elsewhere, ``Runner.save_checkpoint``
(``CheckpointHook``: every one of its arguments is given by the hook already) and the
``ema_type`` model (``EMAHook``). A hook whose ``**kwargs`` go anywhere else is not
checked.
"""
import ast
import difflib
import inspect
import textwrap
from typing import Any, Iterator, Optional, Set, Tuple

from ...errors import HookArgumentError

__all__ = ['HookArgumentError', 'check_hook_args', 'accepted_args']

#: keys mmengine itself reads from a hook's config (``Runner.register_hook``) or the
#: registry (``Registry.build``).
RESERVED_KEYS = frozenset({'type', 'priority', '_scope_'})


def _own_params(init) -> Tuple[Set[str], bool]:
    """``(named parameters, takes **kwargs)`` of one ``__init__``."""
    params = inspect.signature(init).parameters.values()
    named = {
        p.name
        for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    } - {'self'}
    return named, any(p.kind == p.VAR_KEYWORD for p in params)


def _passes_kwargs_to_super(init) -> bool:
    """Whether ``init`` calls ``super().__init__(..., **kwargs)`` with its own
    ``**kwargs`` (read from its source; False when there is none)."""
    var_keyword = next(
        p.name for p in inspect.signature(init).parameters.values()
        if p.kind == p.VAR_KEYWORD)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == '__init__' and isinstance(node.func.value, ast.Call) \
                and getattr(node.func.value.func, 'id', None) == 'super':
            return any(
                k.arg is None and getattr(k.value, 'id', None) == var_keyword
                for k in node.keywords)
    return False


def _kwargs_sink(cls: type, hook_cfg: dict) -> Optional[Set[str]]:
    """What a hook class that keeps ``**kwargs`` for itself accepts in them, or None
    when that is unknown."""
    from mmengine.hooks import CheckpointHook, EMAHook
    if cls is CheckpointHook:  # -> Runner.save_checkpoint, all of whose arguments
        return set()  # the hook passes itself
    if cls is EMAHook:  # -> the averaged model built from ema_type
        from mmengine.registry import MODELS
        ema_type = hook_cfg.get('ema_type', 'ExponentialMovingAverage')
        ema_cls = ema_type if isinstance(ema_type, type) else MODELS.get(ema_type)
        taken = accepted_args(ema_cls) if isinstance(ema_cls, type) else None
        return None if taken is None else taken - {'model'}
    return None


def accepted_args(cls: type, hook_cfg: Optional[dict] = None) -> Optional[Set[str]]:
    """The keyword arguments ``cls(**kwargs)`` accepts, or None when its ``**kwargs``
    go somewhere this cannot follow (see the module docstring)."""
    accepted: Set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None or klass is object:
            continue
        named, var_keyword = _own_params(init)
        accepted |= named
        if not var_keyword:
            return accepted
        sink = _kwargs_sink(klass, hook_cfg or {})
        if sink is not None:
            return accepted | sink
        if not _passes_kwargs_to_super(init):
            return None
    return accepted  # **kwargs passed up to object.__init__, which takes none


def _hook_cfgs(cfg: Any) -> Iterator[Tuple[str, dict]]:
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict):
            yield f'default_hooks.{name}', hook
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict):
            yield f'custom_hooks[{i}]', hook


def _hook_class(hook_type: Any, scope: Optional[str]) -> Optional[type]:
    if isinstance(hook_type, type):
        return hook_type
    if not isinstance(hook_type, str):
        return None
    from mmengine.registry import HOOKS
    with HOOKS.switch_scope_and_registry(scope) as registry:
        found = registry.get(hook_type)
    return found if isinstance(found, type) else None


def check_hook_args(cfg: Any) -> None:
    """Check the keys of every ``default_hooks`` / ``custom_hooks`` entry of ``cfg``
    against its class (see the module docstring). An unknown ``type`` is left to
    mmengine's registry, which names it.

    Raises:
        HookArgumentError: naming the config entry, the hook, the unknown key, the
            closest allowed key and every allowed key.
    """
    scope = cfg.get('default_scope')
    for where, hook_cfg in _hook_cfgs(cfg):
        cls = _hook_class(hook_cfg.get('type'), scope)
        if cls is None:
            continue
        accepted = accepted_args(cls, hook_cfg)
        if accepted is None:
            continue
        unknown = [k for k in hook_cfg if k not in accepted and k not in RESERVED_KEYS]
        if not unknown:
            continue
        key = unknown[0]
        close = difflib.get_close_matches(key, sorted(accepted), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ''
        raise HookArgumentError(
            f'{where}: {cls.__name__} has no argument {key!r}{hint}. It takes '
            f'{", ".join(sorted(accepted))}. Fix the key in the config (or in '
            '--cfg-options); mmengine would accept some unknown keys here and fail only '
            'when the hook first uses them (a misspelt checkpoint key after the first '
            'epoch).')
