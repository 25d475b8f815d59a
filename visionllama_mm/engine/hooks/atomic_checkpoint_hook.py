"""``CheckpointHook`` whose files are weights-only loadable and never half-written."""
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
from ...fileio import (atomic_write_text, checkpoint_candidates, decode_in_place,
                       encode_in_place, is_local_dir, load_checkpoint_file, publish_file)
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
    - **atomic writes**: the file is written under a hidden temporary name, checked
      to load weights-only, ``fsync`` ed and renamed over the target; a kill during
      the save leaves the previous file (or none) under the final name, never a
      truncated one. ``last_checkpoint`` is replaced atomically after the file is
      complete, and with ``max_keep_ckpts`` the oldest checkpoint is removed after the
      new one is safely written. Leftover temporary files are removed before training.
    - **checked loading**: before the runner loads ``load_from`` / ``--resume PATH``
      the file is checked, and a truncated, corrupt or pickled file, or one that is
      not a checkpoint dict, is a
      :class:`~visionllama_mm.fileio.CheckpointLoadError` naming it.
      Auto-resume (``resume=True`` without ``load_from``) whose ``last_checkpoint``
      points at a missing or bad file warns and resumes from the newest loadable
      ``epoch_N.pth`` / ``iter_N.pth`` instead; with none left it is an error naming
      every file tried. With ``strict_load=True`` (default) the loaded ``state_dict``
      must match the model (every key, every shape), else it is an error listing the
      differences — testing another model's checkpoint or
      fine-tuning from random weights after a warning never happens silently. Set
      ``strict_load=False`` where partial loading is intended (the matching tensors
      are loaded, as mmengine does).
    - **atomic best checkpoints** (``save_best``): the new ``best_*.pth`` is written
      (atomically) before the previous one is removed, so a kill in between leaves
      two, never none.

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

    def _local(self) -> bool:
        return (self.file_client_args is None and self.backend_args is None
                and is_local_dir(self.out_dir))

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
        decode_in_place(checkpoint)
        if self.strict_load:
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
            check_state_dict(
                checkpoint.get('state_dict', checkpoint), model, self._loading
                or 'the checkpoint')

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._local() and is_main_process():
            for tmp in glob.glob(osp.join(self.out_dir, '.*.pth.*.tmp')):
                runner.logger.warning(f'removing {tmp}, left by an interrupted save')
                os.remove(tmp)

    # -------------------------------------------------------------------- saving
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        encode_in_place(checkpoint)

    def _save_atomically(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` to a temporary file, then publish it."""
        if not self._local():
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                backend_args=self.backend_args,
                **kwargs)
            return
        final = osp.join(self.out_dir, filename)
        tmp_name = f'.{osp.basename(filename)}.{os.getpid()}.tmp'
        tmp = osp.join(osp.dirname(final), tmp_name)
        try:
            runner.save_checkpoint(
                self.out_dir,
                osp.join(osp.dirname(filename), tmp_name),
                self.file_client_args,
                backend_args=self.backend_args,
                **kwargs)
            if osp.exists(tmp):  # only the main process writes (@master_only)
                load_checkpoint_file(tmp, mmap=True)  # weights-only loadable
                publish_file(tmp, final)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = None
        if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) > 0
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomically(
            runner,
            ckpt_filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            **self.args)
        if not is_main_process():
            return
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if self._local():
            atomic_write_text(last, self.last_ckpt)
        else:
            with open(last, 'w') as f:
                f.write(self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's rotation, reordered: write the new best file, then remove the
        previous one (mmengine removes it first)."""
        if not self.save_best or not self._local():
            return super()._save_best_checkpoint(runner, metrics)
        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key_indicator}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            previous = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict[key_indicator]
            best = runner.message_hub.runtime_info.get(score_key,
                                                       self.init_value_map[rule])
            score = metrics[key_indicator]
            if score is None or not self.is_better_than[key_indicator](score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)
            name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            path = self.file_backend.join_path(self.out_dir, name)
            runner.message_hub.update_info(path_key, path)
            self._save_atomically(
                runner,
                name,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False)
            if single:  # only once the new file is complete
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            if previous and previous != path and is_main_process() and \
                    osp.isfile(previous):
                os.remove(previous)
                runner.logger.info(f'The previous best checkpoint {previous} is '
                                   'removed')
            runner.logger.info(f'The best checkpoint with {score:0.4f} '
                               f'{key_indicator} at {cur_time} {cur_type} is saved to '
                               f'{name}.')
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)


def check_checkpoint(path: str, resume: bool = False) -> None:
    """Raise :class:`CheckpointLoadError` unless ``path`` is a loadable checkpoint
    dict (with ``meta`` and ``state_dict`` when it is to be resumed)."""
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
