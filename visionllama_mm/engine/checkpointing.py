"""Safe training checkpoints: atomic writes and a resume that skips a bad file.

:func:`apply` (run by ``import visionllama_mm``) wraps two methods of mmengine's
``Runner`` (nothing in site-packages is edited; idempotent):

- ``Runner.save_checkpoint`` writes a local checkpoint to a hidden temporary file in
  the same directory, ``fsync`` s it and renames it over the target with
  :func:`os.replace`. A kill during the save leaves the previous file (or none) under
  the final name, never a truncated one. Remote back ends (``backend_args`` /
  ``file_client_args`` or a ``scheme://`` directory) are left to mmengine.
- ``Runner.resume``: when auto-resume (``--resume`` without a path) finds that the file
  ``last_checkpoint`` points at is missing, truncated or corrupt, it warns, naming the
  file and why, and resumes from the newest loadable ``epoch_N.pth`` / ``iter_N.pth``
  in the work dir instead. With no loadable one left it raises
  :class:`~visionllama_mm.compat.CheckpointLoadError` naming every file it tried. An
  explicit ``--resume PATH`` never falls back: a bad file is an error naming it.
"""
import functools
import inspect
import os
import os.path as osp
import re
from typing import Callable, List, Optional

from mmengine.logging import print_log
from mmengine.runner import Runner

from ..compat import CheckpointLoadError

#: File names the default ``CheckpointHook`` writes (``filename_tmpl``).
CHECKPOINT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
_LOAD_ERRORS = (CheckpointLoadError, FileNotFoundError, IsADirectoryError)


def is_local_dir(path: str) -> bool:
    return isinstance(path, str) and '://' not in path


def fsync_path(path: str) -> None:
    """Flush a written file (or a directory entry) to disk; best effort."""
    flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) if osp.isdir(path) \
        else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - e.g. directories on some file systems
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str, text: str) -> None:
    """Write a small text file (``last_checkpoint``) atomically."""
    directory = osp.dirname(osp.abspath(path))
    tmp = osp.join(directory, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_path(directory)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def checkpoint_candidates(work_dir: str, exclude: Optional[str] = None) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` files in ``work_dir``, newest (largest N,
    then latest modification) first."""
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = CHECKPOINT_NAME.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path) and (exclude is None or not osp.exists(exclude)
                                           or not osp.samefile(path, exclude)):
            found.append((int(match.group(1)), osp.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


def _atomic_save(method: Callable) -> Callable:
    if getattr(method, '_visionllama_atomic', False):
        return method
    signature = inspect.signature(method)

    @functools.wraps(method)
    def save_checkpoint(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        out_dir, filename = bound.arguments['out_dir'], bound.arguments['filename']
        if (bound.arguments.get('file_client_args') is not None
                or bound.arguments.get('backend_args') is not None
                or not is_local_dir(out_dir)):
            return method(*bound.args, **bound.kwargs)
        final = osp.join(out_dir, filename)
        tmp_name = f'.{osp.basename(filename)}.{os.getpid()}.tmp'
        tmp = osp.join(osp.dirname(final), tmp_name)
        bound.arguments['filename'] = osp.join(osp.dirname(filename), tmp_name)
        try:
            result = method(*bound.args, **bound.kwargs)
            if osp.exists(tmp):  # only the main process writes (@master_only)
                fsync_path(tmp)
                os.replace(tmp, final)
                fsync_path(osp.dirname(osp.abspath(final)))
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
        return result

    save_checkpoint._visionllama_atomic = True
    return save_checkpoint


def _resume_with_fallback(method: Callable) -> Callable:
    if getattr(method, '_visionllama_fallback', False):
        return method

    @functools.wraps(method)
    def resume(self, filename, *args, **kwargs):
        try:
            return method(self, filename, *args, **kwargs)
        except _LOAD_ERRORS as err:
            # only auto-resume (``--resume`` without a path) may pick another file
            if not (getattr(self, '_resume', False) and self._load_from is None):
                raise
            tried = [f'{filename or "(empty last_checkpoint)"}: {err}']
            for candidate in checkpoint_candidates(self.work_dir, exclude=filename):
                print_log(f'cannot resume from {filename or "(empty)"} ({err}); '
                          f'falling back to the previous checkpoint {candidate}',
                          logger='current', level=30)
                try:
                    return method(self, candidate, *args, **kwargs)
                except _LOAD_ERRORS as next_err:
                    err, filename = next_err, candidate
                    tried.append(f'{candidate}: {next_err}')
            raise CheckpointLoadError(
                f'cannot resume the run in {self.work_dir}: no loadable checkpoint. '
                'Tried ' + '; '.join(tried) + '. Start afresh without --resume, or '
                'give --resume PATH.') from err

    resume._visionllama_fallback = True
    return resume


def apply() -> None:
    """Wrap ``Runner.save_checkpoint`` and ``Runner.resume`` (idempotent)."""
    Runner.save_checkpoint = _atomic_save(Runner.save_checkpoint)
    Runner.resume = _resume_with_fallback(Runner.resume)
