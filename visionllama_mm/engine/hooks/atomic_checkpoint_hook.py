"""``CheckpointHook`` whose files are weights-only loadable, never half-written, and
checked when loaded."""
import glob
import os
import os.path as osp
import re
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from ...errors import CheckpointLoadError
from ...fileio import (AtomicLocalBackend, checkpoint_candidates, decode_in_place,
                       encode_in_place, is_local_dir, load_checkpoint_file,
                       publish_checkpoint, record_integrity, register_atomic_backend,
                       strip_config_text)
from ...registry import HOOKS


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with safe files and resume.

    - **weights-only files**: before a checkpoint is written, the message hub's
      ``HistoryBuffer`` objects and every numpy value are encoded as tensors and
      plain values (:func:`~visionllama_mm.fileio.to_weights_only`), so
      ``torch.load(path, weights_only=True)`` (``init_model``, the inferencers,
      upstream ``publish_model.py`` / ``benchmark.py``) reads every checkpoint of the
      run, with its ``meta['dataset_meta']``. Resuming decodes them back exactly.
    - **integrity**: every checkpoint records the SHA-256 of each of its tensors
      (:func:`~visionllama_mm.fileio.record_integrity`); loading a file whose tensors
      changed since is an error naming the file and the first changed tensor.
    - **atomic writes**: the hook writes through
      :class:`~visionllama_mm.fileio.AtomicLocalBackend` (mmengine's ``backend_args``):
      each file is written under a hidden temporary name, checked to load
      weights-only, ``fsync`` ed and renamed over the target, so a kill during the save
      leaves the previous file (or none) under the final name, never a truncated one;
      the oldest checkpoint (``max_keep_ckpts``) and the previous ``best_*.pth``
      (``save_best``) are removed only after the new file is complete. Leftover
      temporary files are removed before training. With ``FlexibleRunner`` (FSDP,
      DeepSpeed) mmengine's strategy writes the file itself, not through the back end:
      there the write is mmengine's, the removals still wait for it.
    - **checked loading**: before the runner loads ``load_from`` / ``--resume PATH``
      the file is checked, and a truncated, corrupt, pickled or changed file, or one
      that is not a checkpoint dict, is a
      :class:`~visionllama_mm.errors.CheckpointLoadError` naming it.
      Auto-resume (``resume=True`` without ``load_from``) whose ``last_checkpoint``
      points at a missing or bad file warns and resumes from the newest loadable
      ``epoch_N.pth`` / ``iter_N.pth`` instead; with none left it is an error naming
      every file tried. With ``strict_load=True`` (default) the loaded ``state_dict``
      must match the model (every key, every shape), else it is an error listing the
      differences — testing another model's checkpoint or
      fine-tuning from random weights after a warning never happens silently. Set
      ``strict_load=False`` where partial loading is intended (the matching tensors
      are loaded, as mmengine does).
    - **no code from the file**: the config text mmengine keeps in a checkpoint
      (``meta['config']``, which ``Runner.resume`` executes, ``meta['cfg']``,
      ``message_hub['runtime_info']['cfg']``) is removed unread when it is loaded
      (:func:`~visionllama_mm.fileio.strip_config_text`).
    - **published files** (``published_keys``): written by
      :func:`~visionllama_mm.fileio.publish_checkpoint` (atomic, config text removed,
      named with the SHA-256 of the file as OpenMMLab's ``publish_model.py`` does).

    Name it in a config as ``default_hooks.checkpoint.type='AtomicCheckpointHook'``
    (``ReliableRunner`` and ``tools/train.py`` do so for ``CheckpointHook``). Remote
    back ends (``backend_args`` or a ``scheme://`` ``out_dir``) keep mmengine's writes.
    """

    def __init__(self, *args, strict_load: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(strict_load, bool):
            raise TypeError(f'strict_load must be True or False, got {strict_load!r}')
        self.strict_load = strict_load
        self._loading: Optional[str] = None
        # local files through mmengine's default back end (out_dir=None: the work dir)
        self._atomic = (
            self.file_client_args is None and self.backend_args is None
            and (self.out_dir is None or is_local_dir(self.out_dir)))
        if self._atomic:
            self.backend_args = dict(backend=register_atomic_backend())

    # ------------------------------------------------------------------- loading
    def before_run(self, runner) -> None:
        super().before_run(runner)
        if getattr(runner, '_has_loaded', False):
            return
        resume, load_from = getattr(runner, '_resume', False), runner._load_from
        if resume and load_from is None:
            runner._load_from = self._auto_resume_file(runner)
        elif is_local_dir(load_from):
            check_checkpoint(load_from, resume)  # a clear error, early
        self._loading = runner._load_from

    def _auto_resume_file(self, runner) -> Optional[str]:
        """The file auto-resume should use: ``last_checkpoint``'s, or the newest
        loadable one when that is missing or bad; ``None`` to start afresh."""
        work_dir = runner.work_dir
        latest = find_latest_checkpoint(work_dir)
        candidates = checkpoint_candidates(work_dir, exclude=latest)
        if latest is None and not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
            return None  # a new run: nothing to resume
        tried = []
        for path in ([latest] if latest else []) + candidates:
            try:
                check_checkpoint(path, resume=True)
            except (CheckpointLoadError, FileNotFoundError, IsADirectoryError) as err:
                tried.append(f'{path}: {err}')
                runner.logger.warning(f'cannot resume from {path} ({err}); trying the '
                                      'previous checkpoint')
                continue
            if tried:
                runner.logger.warning(f'falling back to the previous checkpoint {path}')
            return path
        if not tried:
            tried.append(f'{osp.join(work_dir, "last_checkpoint")}: empty')
        raise CheckpointLoadError(
            f'cannot resume the run in {work_dir}: no loadable checkpoint. Tried ' +
            '; '.join(tried) + '. Start afresh without --resume, or give --resume '
            'PATH.')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        name = self._loading or 'the checkpoint'
        removed = strip_config_text(checkpoint)  # before Runner.resume reads it
        if "['meta']['config']" in removed:
            runner.logger.warning(
                f"removed meta['config'] from {name} unread: mmengine's resume would "
                'execute it as Python (Config.fromstring), and mmengine >= 2.0 never '
                'writes it, so it came from elsewhere')
        decode_in_place(checkpoint)
        if self.strict_load:
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
            check_state_dict(checkpoint.get('state_dict', checkpoint), model, name)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._atomic and is_main_process():
            for tmp in glob.glob(osp.join(self.out_dir, '.*.pth.*.tmp')):
                runner.logger.warning(f'removing {tmp}, left by an interrupted save')
                os.remove(tmp)

    # -------------------------------------------------------------------- saving
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        encode_in_place(checkpoint)
        record_integrity(checkpoint)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._saved()

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self._saved()

    def after_val_epoch(self, runner, metrics) -> None:
        super().after_val_epoch(runner, metrics)
        self._saved()

    def _saved(self) -> None:
        """After a save step: the removals it asked for (``max_keep_ckpts``, the
        previous best) are carried out now that the new file is complete, also with
        ``FlexibleRunner``, whose strategies write the file without the back end."""
        if self._atomic and is_main_process() and is_local_dir(self.out_dir):
            AtomicLocalBackend.flush_removals(self.out_dir)

    def after_train(self, runner) -> None:
        """``published_keys``: publish the last / best checkpoints with
        :func:`~visionllama_mm.fileio.publish_checkpoint` (local files; mmengine's
        publishing otherwise)."""
        if self.published_keys is None or not self._atomic:
            return super().after_train(runner)
        if not is_main_process():
            return
        paths = [self.last_ckpt] if self.save_last and self.last_ckpt else []
        paths += [getattr(self, 'best_ckpt_path', None)]
        paths += list((getattr(self, 'best_ckpt_path_dict', None) or {}).values())
        for path in dict.fromkeys(p for p in paths if p):
            final = publish_checkpoint(path, path, keys=self.published_keys)
            runner.logger.info(f'The checkpoint ({path}) is published to {final}.')


def check_checkpoint(path: str, resume: bool = False) -> None:
    """Raise :class:`CheckpointLoadError` unless ``path`` is a loadable checkpoint
    dict whose integrity holds (with ``meta`` and ``state_dict`` when it is to be
    resumed). The tensors are mapped, not read into memory."""
    checkpoint = load_checkpoint_file(path, mmap=True)
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(
            f'checkpoint {path} holds a {type(checkpoint).__name__}, not a checkpoint '
            'dict (a state_dict, or a dict with a state_dict entry)')
    missing = [k for k in ('meta', 'state_dict') if k not in checkpoint]
    if resume and missing:
        raise CheckpointLoadError(
            f'checkpoint {path} is not a training checkpoint (no {missing}), so it '
            'cannot be resumed: give it as load_from to start a new run from its '
            'weights')


def check_state_dict(state: dict, model: torch.nn.Module, path: str) -> None:
    """Raise :class:`CheckpointLoadError` unless ``state`` matches ``model`` exactly
    (keys, shapes; a leading ``module.`` ignored as mmengine does). Non-finite values
    are ``ModelCheckHook``'s to name, once the weights are loaded."""
    if not isinstance(state, dict):
        raise CheckpointLoadError(f'checkpoint {path}: its state_dict is a '
                                  f'{type(state).__name__}, not a dict')
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in own if k in state
        and isinstance(state[k], torch.Tensor) and state[k].shape != own[k].shape
    ]
    problems = []
    if missing:
        problems.append(f'{len(missing)} of the model\'s {len(own)} tensors missing '
                        f'(e.g. {missing[:3]})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected (e.g. {unexpected[:3]})')
    if shapes:
        problems.append(f'{len(shapes)} of another shape (e.g. {shapes[:2]})')
    if problems:
        raise CheckpointLoadError(
            f'checkpoint {path} does not match {type(model).__name__}: ' +
            '; '.join(problems) + '. Use a checkpoint of this config, or set '
            'default_hooks.checkpoint.strict_load=False where loading only the '
            'matching tensors is intended.')
