"""Save a run's model weights as a plain, weights-only-loadable file."""
import os.path as osp
import time
from typing import Dict, Optional, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...fileio import save_checkpoint_file
from ...registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class SaveWeightsHook(Hook):
    """Write ``{'state_dict': ..., 'meta': ...}`` of the trained model to the work dir.

    A small file for handing weights to another config (training checkpoints also
    hold the optimizer and schedulers). This hook writes the model's
    ``state_dict`` (unwrapped from DDP, tensors on the CPU) and a ``meta`` dict of
    plain values only, so the file loads with ``torch.load(weights_only=True)`` and
    can be handed to another config as is::

        custom_hooks = [dict(type='SaveWeightsHook')]          # the MAE run
        backbone = dict(init_cfg=dict(type='Pretrained', prefix='backbone.',
                        checkpoint='work_dirs/<mae run>/weights.pth'))  # its users

    The file is written at the end of training and, with ``interval > 0``, every
    ``interval`` epochs (``by_epoch=True``) or iterations, always to the same path
    (the latest weights), with :func:`~visionllama_mm.fileio.save_checkpoint_file`:
    atomically (a reader never sees a half-written file) and with the SHA-256 of each
    tensor recorded (checked when the package loads it). Only the main process
    writes.

    Args:
        filename: file name, relative to ``runner.work_dir`` (or absolute).
            Defaults to ``'weights.pth'``.
        interval: also save every ``interval`` epochs / iterations; ``-1`` (default)
            saves only after training.
        by_epoch: whether ``interval`` counts epochs (default) or iterations.

    ``meta`` holds ``epoch``, ``iter`` (completed), ``cfg`` (the config file name),
    ``experiment_name``, ``time`` and ``saved_by``.
    """
    priority = 'VERY_LOW'  # after CheckpointHook / EMA hooks of the same stage

    def __init__(self,
                 filename: str = 'weights.pth',
                 interval: int = -1,
                 by_epoch: bool = True) -> None:
        if not isinstance(filename, str) or not filename:
            raise ValueError(f'filename must be a non-empty str, got {filename!r}')
        if not isinstance(interval, int) or interval == 0 or interval < -1:
            raise ValueError(f'interval must be -1 or a positive int, got {interval!r}')
        self.filename = filename
        self.interval = interval
        self.by_epoch = by_epoch

    # ------------------------------------------------------------------- triggers
    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.interval > 0 and \
                self.every_n_epochs(runner, self.interval):
            self.save(runner, epoch=runner.epoch + 1, iteration=runner.iter)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not self.by_epoch and self.interval > 0 and \
                self.every_n_train_iters(runner, self.interval):
            self.save(runner, epoch=runner.epoch, iteration=runner.iter + 1)

    def after_train(self, runner) -> None:
        self.save(runner, epoch=runner.epoch, iteration=runner.iter)

    # ---------------------------------------------------------------------- write
    def path(self, runner) -> str:
        return osp.join(runner.work_dir, self.filename)

    def save(self, runner, epoch: int, iteration: int) -> Optional[str]:
        """Write the file (main process only); returns its path there."""
        if not is_main_process():
            return None
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state_dict = {
            name: tensor.detach().cpu()
            for name, tensor in model.state_dict().items()
        }
        cfg_file = getattr(runner.cfg, 'filename', None)
        meta: Dict[str, Union[int, str, None]] = dict(
            epoch=int(epoch),
            iter=int(iteration),
            cfg=osp.basename(cfg_file) if cfg_file else None,
            experiment_name=str(runner.experiment_name),
            time=time.strftime('%Y-%m-%d %H:%M:%S'),
            saved_by=type(self).__name__)
        path = self.path(runner)
        save_checkpoint_file(dict(state_dict=state_dict, meta=meta), path)
        runner.logger.info(f'SaveWeightsHook: model weights (epoch {meta["epoch"]}, '
                           f'iter {meta["iter"]}) saved to {path}')
        return path
