"""``CheckpointHook`` that never leaves a run without a loadable checkpoint."""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ...registry import HOOKS
from ..checkpointing import atomic_write_text, is_local_dir


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-safe bookkeeping.

    - the checkpoint file is written atomically (temporary file + ``os.replace``, see
      :mod:`visionllama_mm.engine.checkpointing`);
    - ``last_checkpoint`` is updated only after the new file is complete, and is
      itself replaced atomically;
    - with ``max_keep_ckpts`` the oldest checkpoint is removed **after** the new one is
      safely written (mmengine removes it before, so a kill during the save of
      ``max_keep_ckpts=1`` would leave no checkpoint at all);
    - leftover temporary files of a killed save are removed before training.

    ``tools/train.py`` (:func:`visionllama_mm.apis.prepare_train_config`) uses it in
    place of ``default_hooks.checkpoint.type='CheckpointHook'``; other tools can name it
    in ``default_hooks`` in any scope. Remote back ends fall back to mmengine's code.
    """

    def _local(self) -> bool:
        return (self.file_client_args is None and self.backend_args is None
                and is_local_dir(self.out_dir))

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._local() and is_main_process():
            for tmp in glob.glob(osp.join(self.out_dir, '.*.pth.*.tmp')):
                runner.logger.warning(f'removing {tmp}, left by an interrupted save')
                os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
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
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None:
            path = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(path):
                os.remove(path)
