"""``ReliableRunner``: mmengine's ``Runner`` with the package's reliability hooks on."""
import copy
from typing import Any, List

from mmengine.dist import is_main_process
from mmengine.runner import Runner

from ..fileio import strip_config_text
from ..registry import RUNNERS
from .checks import check_config
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
    resume, a stop at the first non-finite loss or a loss that leaves its range for
    good, data, model and input-channel checks, and every pre-flight rule on the config
    before anything is built (:func:`~visionllama_mm.engine.checks.check_config`: e.g.
    a backbone giving no maps to a dense head, a neck that cannot take the backbone's
    outputs, mmseg's layer-decay constructor with one of our backbones, hook arguments
    their classes do not take, a ``work_dir`` that cannot be a directory, annotation
    files the datasets could not parse). Two more guarantees are the runner's own:

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
        cfg = copy.deepcopy(cfg)
        check_config(cfg)
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
