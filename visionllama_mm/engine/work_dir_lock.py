"""One training run per work dir: an exclusive lock held by ``ReliableRunner.train``.

Two runs writing one work dir replace each other's checkpoints and ``last_checkpoint``
without a word. :class:`WorkDirLock` takes a POSIX record lock (``fcntl.lockf``) on
``WORK_DIR/run.lock``, which holds the holder's PID, host, start time and command:

- the kernel (or the NFS lock manager) releases the lock when the holder ends in any
  way, SIGKILL included, so a lock can never outlive its run; data-loading workers
  forked by the run do not inherit it;
- a lock file left by a run that ended without removing it (killed, crashed machine)
  is stale: the next run takes it over with a warning naming the dead run;
- a second run while the first holds it is refused with the holder's PID and host.
"""
import errno
import fcntl
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Callable, Optional, Set

from ..errors import LaunchError

#: Name of the lock file inside the work dir.
LOCK_FILE = 'run.lock'
#: Lock files held by this process (POSIX locks do not exclude their own process).
_HELD: Set[str] = set()


def _holder_text(info: dict) -> str:
    return (f"PID {info.get('pid', '?')} on host {info.get('host', '?')} (started "
            f"{info.get('started', '?')}: {info.get('command', '?')})")


class WorkDirLock:
    """Exclusive lock of a work dir for one run; a context manager.

    Args:
        work_dir: the run's work dir (created if missing).
        warn: called with a message when a stale lock is taken over or the file
            system cannot lock (defaults to ``print`` to stderr).
    """

    def __init__(self, work_dir: str, warn: Optional[Callable[[str], None]] = None):
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_FILE)
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr))
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            LaunchError: another run holds it (naming its PID, host, start and
                command, and the fix).
        """
        os.makedirs(self.work_dir, exist_ok=True)
        key = osp.realpath(self.path)
        if key in _HELD:
            raise self._refusal(dict(self._info(), command='another run in this process'))
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = self._read(fd)
                os.close(fd)
                if err.errno in (errno.EACCES, errno.EAGAIN):
                    raise self._refusal(holder) from None
                self._warn(f'cannot lock the work dir {self.work_dir} on this file '
                           f'system ({err}); make sure no other run writes into it')
                return
            if self._is_current(fd):  # not a file its holder removed meanwhile
                break
            os.close(fd)
        previous = self._read(fd)
        if previous:
            self._warn(f'taking over the stale lock {self.path} of a run that ended '
                       f'without releasing it: {_holder_text(previous)}')
        data = json.dumps(self._info()).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        self._fd = fd
        _HELD.add(key)

    def release(self) -> None:
        """Remove the lock file and release the lock (no-op if not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._is_current(fd):
                os.remove(self.path)
        finally:
            _HELD.discard(osp.realpath(self.path))
            os.close(fd)  # releases the lock

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _is_current(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    @staticmethod
    def _info() -> dict:
        return dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime('%Y-%m-%d %H:%M:%S'),
            command=' '.join([osp.basename(sys.executable), *sys.argv]))

    @staticmethod
    def _read(fd: int) -> dict:
        try:
            info = json.loads(os.pread(fd, 1 << 16, 0).decode() or '{}')
        except (OSError, ValueError):
            return {'pid': '?', 'host': '?'}
        return info if isinstance(info, dict) else {}

    def _refusal(self, holder: dict) -> LaunchError:
        return LaunchError(
            f'work_dir {self.work_dir} is in use by another training run: '
            f'{_holder_text(holder)}, which holds {self.path}. Two runs in one work '
            'dir replace each other\'s checkpoints: wait for that run to end, or give '
            'this run another --work-dir.')
