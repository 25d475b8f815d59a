"""``CheckpointHook`` whose files are weights-only loadable and never half-written."""
import glob
import os
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner import find_latest_checkpoint

from ...registry import HOOKS
from ..checkpointing import (CheckpointLoadError, atomic_write_text,
                             checkpoint_candidates, decode_in_place, encode_in_place,
                             is_local_dir, load_checkpoint_file, publish_file)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with safe files and resume.

    - **weights-only files**: before a checkpoint is written, the message hub's
      ``HistoryBuffer`` objects and every numpy value are encoded as tensors and
      plain values (:func:`~visionllama_mm.engine.checkpointing.to_weights_only`), so
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
      the file is checked, and a truncated, corrupt or pickled file is a
      :class:`~visionllama_mm.engine.checkpointing.CheckpointLoadError` naming it.
      Auto-resume (``resume=True`` without ``load_from``) whose ``last_checkpoint``
      points at a missing or bad file warns and resumes from the newest loadable
      ``epoch_N.pth`` / ``iter_N.pth`` instead; with none left it is an error naming
      every file tried.

    Name it in a config as ``default_hooks.checkpoint.type='AtomicCheckpointHook'``
    (``ReliableRunner`` and ``tools/train.py`` do so for ``CheckpointHook``). Remote
    back ends (``backend_args`` or a ``scheme://`` ``out_dir``) keep mmengine's writes.
    """

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
            load_checkpoint_file(load_from, mmap=True)  # a clear error, early

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
                load_checkpoint_file(path, mmap=True)
            except (CheckpointLoadError, FileNotFoundError, IsADirectoryError) as err:
                tried.append(f'{path}: {err}')
                runner.logger.warning(f'cannot resume from {path} ({err}); trying the '
                                      'previous checkpoint')
                continue
            if tried:
                runner.logger.warning(
                    f'falling back to the previous checkpoint {path}')
            return path
        if not tried:
            tried.append(f'{osp.join(work_dir, "last_checkpoint")}: empty')
        raise CheckpointLoadError(
            f'cannot resume the run in {work_dir}: no loadable checkpoint. Tried '
            + '; '.join(tried) + '. Start afresh without --resume, or give --resume '
            'PATH.')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        decode_in_place(checkpoint)

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
            runner.save_checkpoint(self.out_dir, filename, self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            return
        final = osp.join(self.out_dir, filename)
        tmp_name = f'.{osp.basename(filename)}.{os.getpid()}.tmp'
        tmp = osp.join(osp.dirname(final), tmp_name)
        try:
            runner.save_checkpoint(self.out_dir,
                                   osp.join(osp.dirname(filename), tmp_name),
                                   self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            if osp.exists(tmp):  # only the main process writes (@master_only)
                load_checkpoint_file(tmp, mmap=True)  # weights-only loadable
                publish_file(tmp, final)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = None
        if self.max_keep_ckpts > 0 and not (
                len(self.keep_ckpt_ids) > 0 and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomically(
            runner, ckpt_filename, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, **self.args)
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
