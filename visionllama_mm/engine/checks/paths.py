"""The run's ``work_dir`` checked before the runner creates it.

mmengine's runner calls ``os.makedirs(work_dir, exist_ok=True)``: a symbolic link that
loops or leads nowhere, or a file in the way, is a bare ``FileExistsError`` naming only
the path, and a directory without write permission fails later. :func:`check_work_dir`
names the path, what is wrong with it and the fix.
"""
import errno
import os
import os.path as osp
from typing import Any

from ...errors import LaunchError

__all__ = ['check_work_dir']


def _problem(path: str) -> str:
    """What keeps ``path`` (which exists, as a name) from being a directory."""
    if osp.islink(path):
        target = os.readlink(path)
        try:
            os.stat(path)
        except OSError as err:
            kind = 'a loop' if err.errno == errno.ELOOP else 'a dangling link'
            return f'is a symbolic link to {target!r} that leads nowhere ({kind})'
        return f'is a symbolic link to {target!r}, which is not a directory'
    return 'is a file, not a directory'


def check_work_dir(cfg: Any) -> None:
    """``cfg.work_dir`` (local paths only) can be created or written: no path
    component is a file or a symbolic link that loops or dangles, and the deepest
    existing directory is writable.

    Raises:
        LaunchError: naming ``work_dir``, the offending path and the fix.
    """
    work_dir = cfg.get('work_dir')
    if not isinstance(work_dir, str) or '://' in work_dir:
        return
    path = osp.abspath(osp.expanduser(work_dir))
    parts, head = [], path
    while True:
        parts.append(head)
        parent = osp.dirname(head)
        if parent == head:
            break
        head = parent
    for part in reversed(parts):  # from the root down
        if osp.isdir(part):
            continue
        if osp.lexists(part):
            where = 'it' if part == path else f'its parent {part}'
            raise LaunchError(
                f'work_dir={work_dir!r} cannot be created: {where} {_problem(part)}. '
                'Remove or fix that path, or choose another work_dir (--work-dir).')
        existing = osp.dirname(part)
        if not os.access(existing, os.W_OK | os.X_OK):
            raise LaunchError(
                f'work_dir={work_dir!r} cannot be created: the directory {existing} '
                'is not writable. Choose another work_dir (--work-dir).')
        return
    if not os.access(path, os.W_OK | os.X_OK):
        raise LaunchError(f'work_dir={work_dir!r} is not writable. Choose another '
                          'work_dir (--work-dir) or fix its permissions.')
