"""Save and restore the global random states so a resumed run repeats exactly."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from ...fileio import INTEGRITY_KEY, from_weights_only, record_integrity, to_weights_only
from ...registry import HOOKS

KEY = 'rng_state'


def get_rng_state() -> dict:
    """The global states of ``random``, ``numpy`` and ``torch`` (CPU and CUDA)."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


class _RestoreAfter:
    """Wraps ``IterBasedTrainLoop.dataloader_iterator``: after the loop has skipped
    ``skip`` batches (mmengine's way to reach the resumed position), restore ``state``
    so the next batch's augmentation draws the numbers it drew in the first run."""

    def __init__(self, iterator, skip: int, state: dict) -> None:
        self._inner, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        data = next(self._inner)
        if self._state is not None:
            self._skip -= 1
            if self._skip == 0:
                set_rng_state(self._state)
                self._state = None
        return data

    def __getattr__(self, name):
        return getattr(self._inner, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` repeat the uninterrupted run's random numbers.

    mmengine 0.10.7 saves the seed, the optimizer, the schedulers and the message hub,
    and the samplers are seeded per epoch, but the global random states that data
    augmentation (``random`` / ``numpy``) and the model (``torch``: drop path, RoI
    sampling, ...) draw from restart from the seed. This hook

    - stores them in every checkpoint (``checkpoint['rng_state']``);
    - when resuming, restores them right before the next training batch is loaded:
      at the start of the next epoch (``EpochBasedTrainLoop``) or after the loop has
      skipped the batches already trained (``IterBasedTrainLoop``);
    - keeps validation from shifting the training's random numbers (states saved
      before and restored after each validation), so a run that resumes after a
      validation point draws what the uninterrupted run drew.

    With ``randomness=dict(seed=..., deterministic=True)`` and ``num_workers=0`` a run
    killed at any iteration and resumed from its latest checkpoint ends bit-identical to
    an uninterrupted one (``tests/test_reliability/test_resume.py``). Data-loading
    workers (``num_workers > 0``) are reseeded by mmengine at every restart, which
    breaks that equality for random augmentation. An ``EpochBasedTrainLoop`` resumed
    from a mid-epoch checkpoint (``by_epoch=False`` saving) restarts the epoch
    (mmengine's behaviour): a warning says so. Distributed runs save the main
    process's states (``diff_rank_seed=False``, mmengine's default, seeds all ranks
    alike).
    """
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._val_state: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = to_weights_only(get_rng_state(), KEY)  # weights-only file
        if INTEGRITY_KEY in checkpoint:  # AtomicCheckpointHook recorded the rest
            record_integrity(checkpoint, [KEY])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: a new run from these weights, keep its own seed
        state = from_weights_only(checkpoint.get(KEY))
        if state is None:
            runner.logger.warning('the resumed checkpoint has no random state '
                                  f'({KEY}); the resumed run will not repeat the '
                                  'random numbers of an uninterrupted one')
        self._pending = state
        meta = checkpoint.get('meta', {})
        loop = runner.train_loop
        if not hasattr(loop, 'dataloader_iterator') and hasattr(loop, 'dataloader'):
            epoch, it = meta.get('epoch', 0), meta.get('iter', 0)
            if it != epoch * len(loop.dataloader):
                runner.logger.warning(
                    f'resuming an epoch-based run from a mid-epoch checkpoint (epoch '
                    f'{epoch}, iter {it}): mmengine restarts epoch {epoch + 1} from its '
                    'first batch, so the run will not repeat the uninterrupted one. '
                    'Save epoch-based runs by epoch (CheckpointHook by_epoch=True).')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        loop = runner.train_loop
        skip = getattr(loop, '_iter', 0) if hasattr(loop, 'dataloader_iterator') else 0
        if skip > 0:
            loop.dataloader_iterator = _RestoreAfter(loop.dataloader_iterator, skip,
                                                     state)
        else:
            set_rng_state(state)

    def before_val(self, runner) -> None:
        if self._is_training(runner):
            self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
            self._val_state = None

    @staticmethod
    def _is_training(runner) -> bool:
        # runner.train_loop builds the loop lazily; only look at a built one
        loop = getattr(runner, '_train_loop', None)
        return loop is not None and not isinstance(loop, dict)
