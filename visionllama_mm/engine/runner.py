"""``ReliableRunner``: mmengine's ``Runner`` with the package's reliability hooks on."""
import copy
from typing import Any, List

from mmengine.dist import is_main_process
from mmengine.runner import Runner

from ..errors import IncompatibleConfigError
from ..fileio import strip_config_text
from ..registry import RUNNERS
from .work_dir_lock import WorkDirLock

#: hooks added to ``custom_hooks`` unless the config lists them (README "Reliability").
RELIABILITY_HOOKS = ('RandomStateHook', 'FiniteLossHook', 'InputChannelsHook',
                     'DataCheckHook', 'ModelCheckHook')
#: ``runner_type`` of :class:`ReliableRunner` (the scope lets mmengine's root registry
#: find it before a default scope is set, as OpenMMLab's own tools need).
RELIABLE_RUNNER = 'visionllama_mm.ReliableRunner'
_PLAIN_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook')


def add_reliability_hooks(cfg: Any) -> List[str]:
    """Switch a config's run to the crash-safe parts, in place.

    - ``default_hooks.checkpoint`` of type ``CheckpointHook`` becomes
      ``AtomicCheckpointHook`` (same arguments: weights-only loadable, atomic files,
      checked loading, resume fallback);
    - ``custom_hooks`` gets ``RandomStateHook`` (exact resume), ``FiniteLossHook``
      (stop at the first NaN / inf loss), ``InputChannelsHook`` (clear error for
      grayscale / RGBA inputs), ``DataCheckHook`` (dataset files and labels) and
      ``ModelCheckHook`` (heads / necks that do not fit the backbone, non-finite
      weights) unless the config already lists them. The first two act only while
      training.

    Idempotent. Returns what was changed, for the log.
    """
    changed = []
    hooks = cfg.get('default_hooks') or {}
    checkpoint = hooks.get('checkpoint')
    if isinstance(checkpoint, dict) and \
            checkpoint.get('type') in _PLAIN_CHECKPOINT_HOOKS:
        checkpoint['type'] = 'AtomicCheckpointHook'
        changed.append('default_hooks.checkpoint: AtomicCheckpointHook')
    custom = list(cfg.get('custom_hooks') or [])
    present = {h.get('type') for h in custom if isinstance(h, dict)}
    for name in RELIABILITY_HOOKS:
        if name not in present:
            custom.append(dict(type=name))
            changed.append(f'custom_hooks += {name}')
    cfg['custom_hooks'] = custom
    return changed


@RUNNERS.register_module()
class ReliableRunner(Runner):
    """mmengine's ``Runner`` that applies :func:`add_reliability_hooks` to its config.

    Select it with ``runner_type='visionllama_mm.ReliableRunner'`` (the package's
    configs do so through ``configs/_base_/reliable_runtime.py``; the scope prefix lets
    mmengine's root registry find it before any default scope is set); OpenMMLab's own
    ``tools/train.py`` / ``tools/test.py`` build it through ``RUNNERS`` like any
    runner, so their runs get the same guarantees as ``tools/train.py`` of this
    package: weights-only loadable, atomic checkpoints with resume fallback, exact
    resume, a stop at the first non-finite loss, data, model and input-channel checks
    (annotation files are checked before the datasets are built:
    :func:`~visionllama_mm.engine.checks.check_dataset_files`); and a config pairing
    mmseg's layer-decay constructor with one of our backbones is refused with the fix
    (:func:`check_optimizer_constructor`). Two more guarantees are the runner's own:

    - **one run per work dir**: :meth:`train` holds a
      :class:`~visionllama_mm.engine.work_dir_lock.WorkDirLock` on ``work_dir`` (main
      process), released when training ends, also by an error; a second training run
      in the same work dir is refused naming the holder's PID and host, a lock left by
      a killed run is taken over with a warning;
    - **no code from a checkpoint**: :meth:`load_checkpoint` removes the config text
      mmengine keeps in a checkpoint before ``Runner.resume`` would execute
      ``meta['config']`` (:func:`~visionllama_mm.fileio.strip_config_text`), whatever
      checkpoint hook the config names.

    Everything else is mmengine's ``Runner``.
    """

    @classmethod
    def from_cfg(cls, cfg: Any) -> 'ReliableRunner':
        from .checks import check_dataset_files
        cfg = copy.deepcopy(cfg)
        check_optimizer_constructor(cfg)
        check_dataset_files(cfg)  # files the datasets could not even parse
        add_reliability_hooks(cfg)
        return super().from_cfg(cfg)

    def train(self) -> Any:
        """mmengine's ``train`` with the work dir locked for the run.

        Raises:
            LaunchError: another training run holds the work dir.
        """
        if not is_main_process():
            return super().train()
        with WorkDirLock(self.work_dir, warn=self.logger.warning):
            return super().train()

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        """mmengine's ``load_checkpoint``; the config text is removed from the
        returned checkpoint, which ``Runner.resume`` reads next."""
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        strip_config_text(checkpoint)
        return checkpoint


#: mmseg's layer-decay constructors, which dispatch on backbone class names.
MMSEG_LAYER_DECAY = ('LayerDecayOptimizerConstructor',
                     'LearningRateDecayOptimizerConstructor')


def check_optimizer_constructor(cfg: Any) -> None:
    """Refuse mmseg's layer-decay constructor with one of this package's backbones.

    mmseg 1.2.2's ``LearningRateDecayOptimizerConstructor`` (and its alias
    ``LayerDecayOptimizerConstructor``, used by mmseg's MAE / BEiT configs) accepts
    only backbones whose class name contains ``BEiT``, ``MAE`` or ``ConvNeXt`` and
    raises a bare ``NotImplementedError`` for any other. This names the one-line fix.

    Raises:
        IncompatibleConfigError: naming ``optim_wrapper.constructor`` and the fix.
    """
    from ..registry import MODELS
    wrapper = cfg.get('optim_wrapper') or {}
    constructor = wrapper.get('constructor') if isinstance(wrapper, dict) else None
    model = cfg.get('model') or {}
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(constructor, str) or not isinstance(backbone, dict):
        return
    scope, _, name = constructor.rpartition('.')
    kind = str(backbone.get('type', '')).rpartition('.')[2]
    if name not in MMSEG_LAYER_DECAY or (scope or cfg.get('default_scope')) != 'mmseg' \
            or kind not in MODELS.module_dict:
        return
    raise IncompatibleConfigError(
        f"optim_wrapper.constructor={constructor!r} is mmseg's layer-decay constructor, "
        f'which supports only BEiT / MAE / ConvNeXt backbones (a bare '
        f'NotImplementedError for {kind}). Use this package\'s, which asks the backbone '
        "for get_layer_depth: optim_wrapper = dict(constructor="
        "'LayerDecayOptimWrapperConstructor', paramwise_cfg=dict(flat_decay_mult=0.0)) "
        '(flat_decay_mult=0.0 keeps mmseg\'s rule of no weight decay on norms, biases '
        'and tokens; layer_decay_rate is read as mmseg reads it).')
