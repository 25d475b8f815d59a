"""Shared launch helpers for ``tools/train.py`` and ``tools/test.py``.

One pair of tool scripts serves mmpretrain, mmseg and mmdet configs. The
helpers here pick the downstream project from the config's ``default_scope``,
apply the command-line options the way those projects' own tools do, and make
the config runnable on machines without a CUDA device:

* ``SyncBN``/``MMSyncBN`` norm layers become ``BN`` (mmengine only reverts
  SyncBN for non-distributed runs; distributed CPU runs fail with
  "SyncBatchNorm layers only work with GPU modules").
* Distributed CPU runs use the ``gloo`` backend and a DDP wrapper with
  ``device_ids=None``; the process group is initialised here because
  mmengine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally.
* AMP is refused early with a clear message, since mmengine's
  ``AmpOptimWrapper`` asserts that a GPU (or NPU/MLU/MUSA) is present.

And the reliability defaults (README "Reliability"): every run gets the parts
``ReliableRunner`` switches on (:func:`~visionllama_mm.engine.add_reliability_hooks`:
weights-only atomic checkpoints with checked loading and resume fallback, exact
resume, the finite-loss stop, the input-channel check), whatever its config's
``runner_type``, and the pre-flight rules of :mod:`visionllama_mm.engine.checks`.
The downstream packages are imported inside the functions that need them.
"""
import argparse
import importlib
import os
import os.path as osp
import sys
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from ..engine.checks import check_config
from ..engine.runner import RELIABLE_RUNNER, ReliableRunner, add_reliability_hooks
from ..errors import LaunchError, UserError

__all__ = [
    'SUPPORTED_SCOPES', 'LaunchError', 'get_scope', 'import_scope',
    'convert_syncbn_for_cpu', 'check_amp', 'setup_cpu_distributed',
    'init_cpu_distributed', 'prepare_train_config', 'prepare_test_config',
    'add_reliability_hooks', 'build_runner', 'user_errors', 'parse_launch_args',
    'run_tool'
]

#: ``default_scope`` values the tools know how to run.
SUPPORTED_SCOPES: Tuple[str, ...] = ('mmpretrain', 'mmseg', 'mmdet')

_SYNCBN_TYPES = ('SyncBN', 'MMSyncBN')
# Keys only AmpOptimWrapper accepts; OptimWrapper raises on them.
_AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def user_errors() -> Tuple[type, ...]:
    """Errors about the user's config, data or checkpoint (every one derives from
    :class:`~visionllama_mm.errors.UserError`): the tools print their message (which
    names the file or parameter and the fix) without a traceback."""
    return (UserError, )


def _log(msg: str) -> None:
    print_log(msg, logger='current')


def _cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


def _amp_device_available() -> bool:
    """Mirror the device check in mmengine's ``AmpOptimWrapper``."""
    from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                                 is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _raw_items(node: dict) -> List[Tuple[Any, Any]]:
    # dict.items skips ConfigDict's lazy-object building on access.
    return list(dict.items(node))


def _root(cfg: Any) -> Any:
    return cfg._cfg_dict if isinstance(cfg, Config) else cfg


# --------------------------------------------------------------------------
# scope dispatch
# --------------------------------------------------------------------------
def get_scope(cfg: Config) -> str:
    """Return the config's ``default_scope``, validated.

    Raises:
        LaunchError: if the scope is missing or not one of
            :data:`SUPPORTED_SCOPES`.
    """
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise LaunchError(f'unsupported default_scope {scope!r} in the config; expected '
                          f'one of {", ".join(SUPPORTED_SCOPES)}')
    return scope


def import_scope(cfg: Config) -> str:
    """Import the project named by ``default_scope`` and register its modules.

    Calls ``<scope>.utils.register_all_modules(init_default_scope=False)``
    when the project provides it; the runner sets the default scope itself.

    Returns:
        str: the scope name.
    """
    scope = get_scope(cfg)
    utils = importlib.import_module(f'{scope}.utils')
    register = getattr(utils, 'register_all_modules', None)
    if register is not None:
        register(init_default_scope=False)
    return scope


# --------------------------------------------------------------------------
# CPU fallbacks
# --------------------------------------------------------------------------
def _replace_syncbn(node: Any) -> Tuple[Any, int]:
    """Return ``(node, count)`` with SyncBN types replaced in place.

    Dicts and lists are modified in place; tuples are rebuilt, so the caller
    stores the returned node.
    """
    count = 0
    if isinstance(node, dict):
        for key, value in _raw_items(node):
            if key == 'type' and isinstance(value, str) \
                    and value in _SYNCBN_TYPES:
                node[key] = 'BN'
                count += 1
                continue
            new, n = _replace_syncbn(value)
            if n:
                node[key] = new
                count += n
    elif isinstance(node, list):
        for i, value in enumerate(node):
            node[i], n = _replace_syncbn(value)
            count += n
    elif isinstance(node, tuple):
        items, counts = zip(*map(_replace_syncbn, node)) if node else ((), ())
        count = sum(counts)
        if count:
            node = (type(node)(*items) if hasattr(node, '_fields') else type(node)(items))
    return node, count


def convert_syncbn_for_cpu(cfg: Config) -> int:
    """Replace every ``type='SyncBN'`` (or ``'MMSyncBN'``) with ``'BN'``.

    Walks the whole config: nested dicts, lists and tuples. Nothing else is
    touched, except the runner's top-level ``sync_bn`` option (which converts
    BN to SyncBN in distributed runs); it is cleared and counted too. The
    caller decides when to apply it (no CUDA device).

    Returns:
        int: the number of replaced entries.
    """
    _, count = _replace_syncbn(_root(cfg))
    if cfg.get('sync_bn') is not None:
        cfg.sync_bn = None
        count += 1
    return count


def check_amp(cfg: Config, requested: bool) -> None:
    """Enable AMP for ``--amp`` and refuse AMP where no GPU can run it.

    Args:
        cfg: the training config, updated in place.
        requested: whether ``--amp`` was given.

    Raises:
        LaunchError: ``--amp`` without a GPU, ``--amp`` with an optimizer
            wrapper other than ``OptimWrapper``, or a config that already uses
            ``AmpOptimWrapper`` on a machine without a GPU.
    """
    has_device = _amp_device_available()
    if requested:
        if not has_device:
            raise LaunchError(
                '--amp needs a CUDA GPU: mmengine\'s AmpOptimWrapper is only '
                'available for training on gpu/npu/mlu/musa and none was '
                'found. Drop --amp to train in fp32 on the CPU.')
        optim_wrapper = cfg.get('optim_wrapper')
        if optim_wrapper is None:
            raise LaunchError('--amp needs an optim_wrapper in the config')
        wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type == 'AmpOptimWrapper':
            _log('AMP training is already enabled in the config.')
        elif wrapper_type == 'OptimWrapper':
            optim_wrapper.type = 'AmpOptimWrapper'
            optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            raise LaunchError(f'--amp only converts optim_wrapper.type=\'OptimWrapper\', '
                              f'but the config uses {wrapper_type!r}')
        return
    if has_device:
        return
    for path, node in _find_types(
            cfg.get('optim_wrapper'), 'optim_wrapper', 'AmpOptimWrapper'):
        extra = [k for k in _AMP_ONLY_KEYS if k in node]
        hint = (f' and remove {", ".join(f"{path}.{k}" for k in extra)}' if extra else '')
        raise LaunchError(
            f'the config sets {path}.type=\'AmpOptimWrapper\', but AMP needs '
            f'a CUDA GPU and none was found. Set '
            f'{path}.type=\'OptimWrapper\'{hint} '
            f'to train on the CPU.')


def _find_types(node: Any, path: str, type_name: str) -> Iterator[Tuple[str, dict]]:
    """Yield ``(path, dict)`` for every dict under ``node`` of ``type_name``."""
    if isinstance(node, dict):
        if node.get('type') == type_name:
            yield path, node
        for key, value in _raw_items(node):
            yield from _find_types(value, f'{path}.{key}', type_name)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _find_types(value, f'{path}[{i}]', type_name)


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Make a distributed config runnable without CUDA (no-op for 'none').

    Sets ``env_cfg.dist_cfg.backend='gloo'`` and, unless the config has one,
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    device_ids=None, ...)``: for a configured DDP wrapper mmengine fills in
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules. The
    defaults mmengine uses without a wrapper config (``broadcast_buffers=
    False``, ``find_unused_parameters`` from the config) are kept. An
    existing DDP-type wrapper config gets ``device_ids=None``.
    """
    if launcher == 'none':
        return
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg.dist_cfg = dict()
    dist_cfg = cfg.env_cfg.dist_cfg
    if dist_cfg.get('backend') != 'gloo':
        _log(f'dist backend {dist_cfg.get("backend", "nccl")!r} -> '
             f"'gloo' (no CUDA device)")
        dist_cfg.backend = 'gloo'

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif _is_ddp_type(wrapper.get('type', 'MMDistributedDataParallel')):
        if wrapper.get('device_ids') is not None:
            _log('model_wrapper_cfg.device_ids -> None (no CUDA device)')
        wrapper.device_ids = None


def _is_ddp_type(wrapper_type: Any) -> bool:
    import mmengine.model  # noqa: F401  (registers mmengine's wrappers)
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel
    cls = (
        wrapper_type
        if isinstance(wrapper_type, type) else MODEL_WRAPPERS.get(wrapper_type))
    return isinstance(cls, type) and issubclass(cls, DistributedDataParallel)


def init_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Initialise the process group for a distributed run without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device(local_rank)`` before
    creating the process group, which fails on machines without a GPU. For the
    ``pytorch`` launcher (``torchrun``, which sets ``RANK`` / ``WORLD_SIZE`` /
    ``MASTER_ADDR`` / ``MASTER_PORT``) this creates the group itself with the config's
    ``env_cfg.dist_cfg`` (backend ``gloo``); the runner then skips its own
    initialisation because the group exists.

    Returns:
        bool: whether a process group was initialised here.

    Raises:
        LaunchError: ``slurm`` / ``mpi`` launchers without CUDA (use ``torchrun`` with
            ``--launcher pytorch``).
    """
    import torch.distributed as torch_dist
    from mmengine.dist import is_distributed
    if launcher == 'none' or is_distributed():
        return False
    if launcher != 'pytorch':
        raise LaunchError(
            f'--launcher {launcher} needs a CUDA GPU here (mmengine sets a CUDA device '
            'for it); for a distributed run on CPUs start the processes with torchrun '
            'and --launcher pytorch')
    dist_cfg = dict((cfg.get('env_cfg') or {}).get('dist_cfg') or {})
    dist_cfg.setdefault('backend', 'gloo')
    torch_dist.init_process_group(**dist_cfg)
    return True


# --------------------------------------------------------------------------
# command line of tools/train.py and tools/test.py
# --------------------------------------------------------------------------
def parse_launch_args(description: str,
                      config_help: str,
                      work_dir_help: str,
                      cfg_options_example: str,
                      add_tool_args: Callable[[argparse.ArgumentParser], None],
                      argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of ``tools/train.py`` / ``tools/test.py``.

    The options both tools take (``config``, ``--work-dir``, ``--cfg-options``,
    ``--launcher``, ``--local_rank``) are defined here; ``add_tool_args`` adds the
    tool's own ones (after ``--work-dir``, so ``--help`` lists them in the upstream
    tools' order). ``LOCAL_RANK`` is set from ``--local_rank`` unless already set.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help=config_help)
    parser.add_argument('--work-dir', help=work_dir_help)
    add_tool_args(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        f'{cfg_options_example} or key="[a,b]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def run_tool(tool: str,
             args: argparse.Namespace,
             prepare: Callable[[Config, argparse.Namespace], Config],
             method: str,
             run_errors: Tuple[type, ...] = ()) -> None:
    """Load ``args.config``, apply the options (``prepare``), build the runner and
    call its ``method`` (``'train'`` / ``'test'``); a user error (a bad config or
    option, or one of ``run_errors`` while running) exits with
    ``<tool>: error: <message>`` instead of a traceback."""
    cfg = Config.fromfile(args.config)
    try:
        prepare(cfg, args)
        runner = build_runner(cfg)
    except user_errors() as e:
        sys.exit(f'{tool}: error: {e}')
    try:
        getattr(runner, method)()
    except (*user_errors(), *run_errors) as e:
        runner.logger.error(str(e))
        sys.exit(f'{tool}: error: {e}')


# --------------------------------------------------------------------------
# command-line options -> config
# --------------------------------------------------------------------------
def _prepare_common(cfg: Config, args: argparse.Namespace) -> None:
    """``--cfg-options``, ``--launcher`` and ``--work-dir``, as upstream."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # work_dir priority: CLI > config > ./work_dirs/<config stem>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    get_scope(cfg)


def prepare_train_config(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``tools/train.py`` options to ``cfg`` (in place) and return it.

    Handles ``--cfg-options``, ``--launcher``, ``--work-dir``, ``--amp``,
    ``--auto-scale-lr`` and ``--resume`` ('auto': latest checkpoint in the
    work dir; a path: that checkpoint).
    """
    _prepare_common(cfg, args)
    check_amp(cfg, args.amp)
    if args.auto_scale_lr:
        auto_scale_lr = cfg.get('auto_scale_lr') or {}
        if 'base_batch_size' not in auto_scale_lr:
            raise LaunchError(
                '--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...)'
                ' in the config')
        cfg.auto_scale_lr = dict(auto_scale_lr, enable=True)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    add_reliability_hooks(cfg)
    return cfg


def prepare_test_config(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``tools/test.py`` options to ``cfg`` (in place) and return it.

    Handles ``--cfg-options``, ``--launcher``, ``--work-dir``, the checkpoint,
    ``--out`` (appends a dump metric to ``test_evaluator``) and
    ``--show-dir`` (turns on the scope's visualization hook).
    """
    _prepare_common(cfg, args)
    cfg.load_from = args.checkpoint
    add_reliability_hooks(cfg)
    if args.show_dir:
        _enable_visualization(cfg, args.show_dir)
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise LaunchError(f'--out must be a .pkl file, got {args.out!r}')
        # mmdet's dump metric encodes masks; the others use mmengine's.
        dump_type = ('DumpDetResults' if get_scope(cfg) == 'mmdet' else 'DumpResults')
        dump = dict(type=dump_type, out_file_path=args.out)
        evaluator = cfg.get('test_evaluator')
        if isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = [*evaluator, dump]
        elif isinstance(evaluator, dict) and 'metrics' in evaluator:
            metrics = evaluator.metrics
            if not isinstance(metrics, (list, tuple)):
                metrics = [metrics]
            evaluator.metrics = [*metrics, dump]
        elif evaluator:
            cfg.test_evaluator = [evaluator, dump]
        else:
            cfg.test_evaluator = [dump]
    return cfg


def _enable_visualization(cfg: Config, show_dir: str) -> None:
    """Save painted test images to ``show_dir`` as each project's test.py."""
    hooks = cfg.get('default_hooks') or {}
    hook = hooks.get('visualization')
    if hook is None:
        raise LaunchError('--show-dir is not supported for this config: it has no '
                          'default_hooks.visualization hook')
    scope = get_scope(cfg)
    if scope == 'mmpretrain':
        hook.enable = True
        hook.out_dir = show_dir
    elif scope == 'mmseg':
        if cfg.get('visualizer') is None:
            raise LaunchError('--show-dir needs a visualizer in the config')
        hook.draw = True
        cfg.visualizer.save_dir = show_dir
    else:  # mmdet: relative to <work_dir>/<timestamp>
        hook.draw = True
        hook.test_out_dir = show_dir


# --------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------
def _is_reliable_runner(cfg: Config) -> bool:
    """Whether ``cfg.runner_type`` names :class:`ReliableRunner` or a subclass."""
    runner_type = cfg.runner_type
    if isinstance(runner_type, str):
        registry = importlib.import_module(f'{get_scope(cfg)}.registry').RUNNERS
        try:
            runner_type = registry.get(runner_type)
        except RuntimeError:  # an unknown name: RUNNERS.build names it
            return False
    return isinstance(runner_type, type) and issubclass(runner_type, ReliableRunner)


def build_runner(cfg: Config) -> Any:
    """Register the scope's modules, adapt to the device and build the runner.

    Without CUDA: SyncBN -> BN, gloo/``device_ids=None`` for distributed
    launchers, and the process group is initialised before the runner.
    The runner is built as the projects' tools do, ``RUNNERS.build(cfg)``, with
    ``runner_type='visionllama_mm.ReliableRunner'`` unless the config names another;
    with another runner the pre-flight rules on the config
    (:func:`~visionllama_mm.engine.checks.check_config`) run here.
    """
    from mmengine.registry import RUNNERS

    import_scope(cfg)
    if 'runner_type' not in cfg:
        cfg.runner_type = RELIABLE_RUNNER
    if not _is_reliable_runner(cfg):  # ReliableRunner runs the checks itself
        check_config(cfg)
    launcher = cfg.get('launcher', 'none')
    if not _cuda_available():
        n = convert_syncbn_for_cpu(cfg)
        if n:
            _log(f'SyncBN -> BN (no CUDA device): {n} config entries')
        setup_cpu_distributed(cfg, launcher)
        init_cpu_distributed(cfg, launcher)
    return RUNNERS.build(cfg)
