"""Checkpoint files that every tool can load with ``torch.load(weights_only=True)``.

mmengine 0.10.7 puts ``HistoryBuffer`` objects (message hub) and numpy values into
its training checkpoints, and torch >= 2.6 loads weights-only by default, so
``init_model``, the inferencers and upstream tools refuse mmengine's own files. This
module holds the pieces that :class:`~visionllama_mm.engine.AtomicCheckpointHook` and
the tools use; importing it changes nothing in mmengine or torch:

- :func:`to_weights_only` / :func:`from_weights_only`: a lossless, reversible
  encoding of a checkpoint dict into what the weights-only unpickler accepts
  (tensors, numbers, strings, bytes, lists, tuples, dicts): numpy arrays and scalars
  become tagged tensors, ``HistoryBuffer`` a tagged dict; anything else is an error
  naming the entry, never a file that cannot be loaded later;
- :func:`load_checkpoint_file`: ``torch.load(weights_only=True)`` of a local file with
  a :class:`CheckpointLoadError` naming the file and what to do, its integrity checked
  (:func:`verify_integrity`, :func:`check_published_name`) and the config text that
  mmengine would execute removed (:func:`strip_config_text`);
- :func:`load_training_checkpoint`: the same for the VisionLLaMA release's training
  checkpoints, with an explicit allow-list of the few Python objects they hold
  (:data:`TRAINING_CHECKPOINT_GLOBALS`, each with why it cannot run code);
- integrity: :func:`record_integrity` stores a SHA-256 of every tensor in the
  checkpoints this package writes, :func:`verify_integrity` names the first tensor that
  changed since;
- atomic writes (:func:`atomic_path`, :class:`AtomicLocalBackend`, the file back end of
  ``AtomicCheckpointHook``), :func:`save_checkpoint_file`, :func:`publish_checkpoint`
  and checkpoint listing.
"""
import argparse
import hashlib
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend

from .errors import CheckpointLoadError

#: File names the default ``CheckpointHook`` writes (``filename_tmpl``).
CHECKPOINT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
#: Key of the tag in an encoded value (a dict with this key is an encoded object).
TAG = '__weights_only__'
LEGACY_CONVERTER = 'tools/model_converters/convert_pickled_checkpoint.py'


# ----------------------------------------------------------------------- encoding
def _encode_array(value: np.ndarray, kind: str) -> dict:
    if value.dtype.kind in 'biufc':
        return {TAG: kind, 'data': torch.from_numpy(np.array(value, copy=True))}
    if value.dtype.kind in 'USb?':
        return {TAG: kind, 'dtype': value.dtype.str, 'list': value.tolist()}
    raise TypeError(f'numpy dtype {value.dtype} cannot be stored weights-only')


def to_weights_only(value: Any, where: str = 'checkpoint') -> Any:
    """A copy of ``value`` that ``torch.load(weights_only=True)`` reads back.

    Tensors, numbers, strings, bytes, ``None``, torch dtypes / devices / sizes and
    lists, tuples, sets and dicts of them pass unchanged (dict subclasses such as
    ``ConfigDict`` become plain dicts, named tuples plain tuples). numpy arrays and
    scalars and mmengine's ``HistoryBuffer`` become tagged dicts that
    :func:`from_weights_only` turns back into the same objects.

    Raises:
        TypeError: naming the entry (``where``) of any other object.
    """
    from mmengine.logging import HistoryBuffer

    if isinstance(value, np.generic):  # before float: np.float64 subclasses it
        return _encode_array(np.asarray(value), 'numpy.generic')
    if isinstance(value, np.ndarray):
        return _encode_array(value, 'numpy.ndarray')
    if value is None or isinstance(value,
                                   (bool, int, float, complex, str, bytes, torch.Tensor,
                                    torch.dtype, torch.device, torch.Size)):
        return value
    if isinstance(value, HistoryBuffer):
        log, count = value.data
        return {
            TAG: 'mmengine.HistoryBuffer',
            'max_length': value.max_length,
            'log_history': _encode_array(log, 'numpy.ndarray'),
            'count_history': _encode_array(count, 'numpy.ndarray')
        }
    if isinstance(value, dict):
        items = ((k, to_weights_only(v, f'{where}[{k!r}]')) for k, v in value.items())
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, (list, tuple, set)):
        items = [to_weights_only(v, f'{where}[{i}]') for i, v in enumerate(value)]
        if isinstance(value, list):
            return items
        return set(items) if isinstance(value, set) else tuple(items)
    raise TypeError(
        f'{where} is a {type(value).__module__}.{type(value).__qualname__}, which a '
        'weights-only checkpoint cannot hold (allowed: tensors, numbers, strings, '
        'numpy values, HistoryBuffer and lists / tuples / dicts of them). Store it as '
        'plain values in the hook or scheduler that puts it into the checkpoint.')


def _decode_array(value: dict) -> np.ndarray:
    if 'data' in value:
        return value['data'].numpy().copy()
    return np.array(value['list'], dtype=np.dtype(value['dtype']))


def from_weights_only(value: Any) -> Any:
    """Undo :func:`to_weights_only` (values without tags are returned as they are)."""
    if isinstance(value, dict):
        kind = value.get(TAG)
        if kind == 'numpy.ndarray':
            return _decode_array(value)
        if kind == 'numpy.generic':
            return _decode_array(value)[()]
        if kind == 'mmengine.HistoryBuffer':
            from mmengine.logging import HistoryBuffer
            return HistoryBuffer(
                _decode_array(value['log_history']),
                _decode_array(value['count_history']), value['max_length'])
        decoded = ((k, from_weights_only(v)) for k, v in value.items())
        return OrderedDict(decoded) if isinstance(value, OrderedDict) else dict(decoded)
    if isinstance(value, list):
        return [from_weights_only(v) for v in value]
    if isinstance(value, tuple):
        return tuple(from_weights_only(v) for v in value)
    return value


def decode_in_place(checkpoint: dict) -> None:
    """:func:`from_weights_only` on each entry of ``checkpoint`` (the dict object the
    runner keeps using after ``after_load_checkpoint``)."""
    for key, value in list(checkpoint.items()):
        if key not in ('state_dict', INTEGRITY_KEY):  # nothing to decode
            checkpoint[key] = from_weights_only(value)


def encode_in_place(checkpoint: dict) -> None:
    """:func:`to_weights_only` on each entry of ``checkpoint``, in place."""
    for key, value in list(checkpoint.items()):
        checkpoint[key] = to_weights_only(value, f'checkpoint[{key!r}]')


# ------------------------------------------------------------------------ loading
#: ``(object, name in the pickle, why building it cannot run code)`` per allowed global.
AllowList = Sequence[Tuple[Any, str, str]]


def _unpickling_reason(err: pickle.UnpicklingError) -> str:
    """The weights-only unpickler's own one-line reason inside torch's long message
    (torch raises its message ``from None``; the unpickler's error is the context)."""
    inner = err.__context__ if isinstance(err.__context__,
                                          pickle.UnpicklingError) else err
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    line = next((line for line in lines if 'GLOBAL' in line), lines[0] if lines else '')
    return line.split(' Please use ')[0] or repr(err)


def load_checkpoint_file(filename: str,
                         map_location: Any = 'cpu',
                         mmap: bool = False,
                         allowed: 'AllowList' = (),
                         verify: bool = True) -> Any:
    """``torch.load(filename, weights_only=True)`` with errors that name the file.

    ``mmap=True`` maps the tensor data instead of reading it into memory (a cheap
    check that a file is complete and weights-only loadable). ``allowed``: ``(object,
    name in the pickle, reason)`` of globals the file may name besides tensors (as
    :data:`TRAINING_CHECKPOINT_GLOBALS`), allowed only during this call. With
    ``verify=True`` (default) the file's integrity is checked
    (:func:`check_published_name` for a file named ``NAME-<sha256 prefix>.pth``,
    :func:`verify_integrity` for a file with a recorded SHA-256 per tensor) and the
    config text mmengine would execute is removed from the result
    (:func:`strip_config_text`).

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file is truncated or corrupt, holds pickled Python
            objects (e.g. mmengine's own training checkpoints, which are not written
            by :class:`~visionllama_mm.engine.AtomicCheckpointHook`), or was changed
            since it was written (a tensor whose SHA-256 differs, or a published file
            whose name does not match its content).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    if mmap and not zipfile.is_zipfile(filename):
        raise CheckpointLoadError(f'checkpoint {filename} is truncated or corrupt, or in '
                                  "torch's legacy (pre-1.6) format (not a zip archive)")
    try:
        with torch.serialization.safe_globals([(obj, name) for obj, name, _ in allowed]):
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        reason = _unpickling_reason(err)
        if not zipfile.is_zipfile(filename):
            raise CheckpointLoadError(
                f'checkpoint {filename} is truncated or corrupt, or in torch\'s legacy '
                f'(pre-1.6) format ({reason})') from err
        if allowed:
            raise CheckpointLoadError(
                f'checkpoint {filename} holds a Python object that this reader does '
                f'not allow ({reason}); it allows tensors and only '
                f'{sorted({name for _, name, _ in allowed})}. Loading it fully would run '
                'any code it contains, so no tool of this package does.') from err
        raise CheckpointLoadError(
            f'checkpoint {filename} holds pickled Python objects besides tensors, which '
            f'weights-only loading refuses ({reason}). Loading it fully would run any '
            'code it contains, so no tool of this package does. If it is an mmengine '
            'training checkpoint you wrote yourself and trust, convert it once with '
            f'`python {LEGACY_CONVERTER} {filename} OUT.pth --trust-pickled-file`.'
        ) from err
    except (EOFError, zipfile.BadZipFile, RuntimeError, ValueError) as err:
        raise CheckpointLoadError(
            f'checkpoint {filename} is truncated or corrupt ({type(err).__name__}: '
            f'{err})') from err
    if verify:
        check_published_name(filename)
        verify_integrity(checkpoint, filename)
        strip_config_text(checkpoint)
    return checkpoint


# ---------------------------------------------------------------------- integrity
#: Top-level key of the integrity record in the checkpoints this package writes:
#: ``{entry: {path of a tensor inside the entry: SHA-256 hex digest}}``.
INTEGRITY_KEY = 'tensor_sha256'


def iter_tensors(value: Any, path: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    """``(path, tensor)`` for every tensor under ``value`` (dicts in their order,
    lists and tuples by index); a path reads like ``"['state'][0]['exp_avg']"``."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_tensors(item, f'{path}[{key!r}]')
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from iter_tensors(item, f'{path}[{index}]')


def tensor_sha256(tensor: torch.Tensor) -> str:
    """SHA-256 (hex) of a tensor's dtype, shape and values (its bytes in C order);
    the same on every device and for every memory layout of the same values."""
    tensor = tensor.detach()
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    tensor = tensor.cpu().contiguous()
    digest = hashlib.sha256(f'{tensor.dtype} {tuple(tensor.shape)}'.encode())
    if tensor.numel():
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def record_integrity(checkpoint: dict, entries: Optional[Iterable[str]] = None) -> None:
    """Store the SHA-256 of every tensor of ``checkpoint`` (or of its ``entries``)
    under :data:`INTEGRITY_KEY`, in place; :func:`verify_integrity` checks them."""
    record = checkpoint.setdefault(INTEGRITY_KEY, {})
    names = [k for k in checkpoint if k != INTEGRITY_KEY] if entries is None \
        else list(entries)
    for name in names:
        digests = {path: tensor_sha256(t) for path, t in iter_tensors(checkpoint[name])}
        if digests:
            record[name] = digests


def verify_integrity(checkpoint: Any, filename: str) -> None:
    """Check the tensors of ``checkpoint`` against its integrity record.

    An entry that a tool removed as a whole (e.g. ``optimizer``, dropped by the
    publish tools) is not an error; a changed, missing or added tensor in an entry
    that is there is. A checkpoint without a record passes (files of other tools).

    Raises:
        CheckpointLoadError: naming ``filename``, the first differing tensor (in the
            order they were written) and how many differ.
    """
    if not isinstance(checkpoint, dict) or INTEGRITY_KEY not in checkpoint:
        return
    record = checkpoint[INTEGRITY_KEY]
    if not isinstance(record, dict) or not all(
            isinstance(v, dict) for v in record.values()):
        raise CheckpointLoadError(
            f'checkpoint {filename}: its {INTEGRITY_KEY!r} entry is not a SHA-256 '
            'record of its tensors (a dict per entry): the file was changed or damaged '
            'after it was written')
    problems: List[str] = []
    for name, digests in record.items():
        if name not in checkpoint:
            continue
        actual = dict(iter_tensors(checkpoint[name]))
        for path, expected in digests.items():
            tensor = actual.pop(path, None)
            if tensor is None:
                problems.append(f'{name}{path} is missing')
            elif tensor_sha256(tensor) != expected:
                problems.append(f'{name}{path} differs from the SHA-256 recorded when '
                                'the file was written')
        added = [f'{name}{path} was added after the file was written' for path in actual]
        problems += added
    if problems:
        raise CheckpointLoadError(
            f'checkpoint {filename} was changed or damaged after it was written: '
            f'{problems[0]} ({len(problems)} tensor(s) in all). Its values cannot be '
            'trusted; use another copy of the file or an earlier checkpoint.')


#: OpenMMLab's published-file names: ``NAME-<first 8 hex digits of its SHA-256>.pth``.
PUBLISHED_NAME = re.compile(r'-([0-9a-f]{8})\.pth$')


def file_sha256(filename: str) -> str:
    """SHA-256 (hex) of a file's bytes, read in 16 MiB chunks."""
    digest = hashlib.sha256()
    with open(filename, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 24), b''):
            digest.update(chunk)
    return digest.hexdigest()


def check_published_name(filename: str) -> None:
    """Check a file named like a published checkpoint (``NAME-1a2b3c4d.pth``, as
    :func:`publish_checkpoint` and OpenMMLab's ``publish_model.py`` name them): its
    SHA-256 must start with those digits.

    Raises:
        CheckpointLoadError: naming the file, both hashes and the fix.
    """
    match = PUBLISHED_NAME.search(osp.basename(filename))
    if match is None:
        return
    actual = file_sha256(filename)
    if not actual.startswith(match.group(1)):
        raise CheckpointLoadError(
            f'checkpoint {filename} is named as a published file whose SHA-256 starts '
            f'with {match.group(1)}, but its SHA-256 is {actual}: the file was changed '
            'or damaged after it was published (or only partly downloaded). Download '
            'or copy it again; if that suffix is no hash, rename the file.')


# -------------------------------------------------------------------- config text
#: Entries where mmengine keeps a config as Python text, which ``Config.fromstring``
#: executes: ``Runner.resume`` runs ``meta['config']``, the inferencers with
#: ``model=None`` run ``message_hub['runtime_info']['cfg']`` or ``meta['cfg']``.
CONFIG_TEXT_ENTRIES = (
    ('meta', 'config'),
    ('meta', 'cfg'),
    ('message_hub', 'runtime_info', 'cfg'),
)


def strip_config_text(checkpoint: Any) -> List[str]:
    """Remove the config text of :data:`CONFIG_TEXT_ENTRIES` from a loaded checkpoint,
    in place, unread: nothing downstream (mmengine's resume, an inferencer, a file
    written from it) can execute it. Returns the removed entries, e.g.
    ``["meta['config']"]``."""
    removed = []
    for *parents, key in CONFIG_TEXT_ENTRIES:
        node = checkpoint
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict) and key in node:
            del node[key]
            removed.append(''.join(f'[{k!r}]' for k in (*parents, key)))
    return removed


# ------------------------------------------------------------------ atomic writes
def is_local_dir(path: Any) -> bool:
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


def publish_file(tmp: str, final: str) -> None:
    """``fsync`` ``tmp`` and rename it over ``final`` (atomic on POSIX)."""
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(osp.dirname(osp.abspath(final)))


def temporary_name(final: str) -> str:
    """The hidden temporary file :func:`atomic_path` writes ``final`` through:
    ``.NAME.<pid>.tmp`` in the same directory (``os.replace`` is atomic there)."""
    final = osp.abspath(final)
    return osp.join(osp.dirname(final), f'.{osp.basename(final)}.{os.getpid()}.tmp')


@contextmanager
def atomic_path(final: str, checkpoint: bool = False) -> Iterator[str]:
    """Yield a temporary path to write ``final`` through; on success it is
    ``fsync`` ed and renamed over ``final`` (with ``checkpoint=True`` only after it
    loaded weights-only), else removed. A reader never sees a half-written ``final``;
    a process killed while writing leaves the previous ``final`` (or none) and the
    temporary file."""
    tmp = temporary_name(final)
    os.makedirs(osp.dirname(tmp), exist_ok=True)
    try:
        yield tmp
        if checkpoint:
            load_checkpoint_file(tmp, mmap=True, verify=False)
        publish_file(tmp, osp.abspath(final))
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes are atomic and whose removals wait for
    the next write: the file back end of
    :class:`~visionllama_mm.engine.AtomicCheckpointHook`.

    - ``put`` writes through :func:`atomic_path` (``LocalBackend.put`` to a hidden
      temporary file, a ``.pth`` file checked to load weights-only, ``fsync``, rename),
      so a kill during a save never leaves a truncated file under the final name;
    - ``remove`` of a file is carried out once the next ``put`` into the same directory
      has completed: mmengine's ``CheckpointHook`` removes the oldest checkpoint
      (``max_keep_ckpts``) and the previous ``best_*.pth`` *before* it writes the new
      one, so a kill in between would leave none; with this back end it leaves both.

    Selected through mmengine's public file API: ``backend_args=dict(backend=
    register_atomic_backend())``.
    """
    #: directory -> files whose removal waits; class-wide, since mmengine builds a
    #: new back end object for every call of ``get_file_backend``.
    _pending: Dict[str, List[str]] = {}

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        final = osp.abspath(str(filepath))
        with atomic_path(final, checkpoint=final.endswith('.pth')) as tmp:
            super().put(obj, tmp)
        pending = self._pending.get(osp.dirname(final), [])
        if final in pending:  # written again: keep it
            pending.remove(final)
        self.flush_removals(osp.dirname(final))

    @classmethod
    def flush_removals(cls, directory: str) -> None:
        """Carry out the removals waiting in ``directory``: call once its new file is
        complete (``put`` does; ``AtomicCheckpointHook`` does after each save step, for
        runners whose strategies write files themselves)."""
        for path in cls._pending.pop(osp.abspath(directory), []):
            if osp.isfile(path):
                os.remove(path)

    def remove(self, filepath: Union[str, Path]) -> None:
        path = osp.abspath(str(filepath))
        if not osp.isfile(path):
            super().remove(filepath)  # mmengine's errors for a directory / no file
            return
        pending = self._pending.setdefault(osp.dirname(path), [])
        if path not in pending:
            pending.append(path)


#: Name of :class:`AtomicLocalBackend` among mmengine's file back ends.
ATOMIC_BACKEND = 'visionllama_mm.atomic_local'


def register_atomic_backend() -> str:
    """Register :class:`AtomicLocalBackend` with mmengine's ``register_backend``
    (idempotent; no prefix, so no existing URI mapping changes) and return its name
    for ``backend_args=dict(backend=...)``."""
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
    return ATOMIC_BACKEND


def save_checkpoint_file(checkpoint: dict, filename: str) -> None:
    """``torch.save`` a checkpoint dict atomically (:func:`atomic_path`) with the
    SHA-256 of its tensors recorded (:func:`record_integrity`; ``checkpoint`` itself
    is not changed), checked to load weights-only before it takes the name.

    Raises:
        CheckpointLoadError: the dict holds objects weights-only loading refuses
            (nothing is written).
    """
    checkpoint = dict(checkpoint)
    checkpoint.pop(INTEGRITY_KEY, None)
    record_integrity(checkpoint)
    with atomic_path(filename, checkpoint=True) as tmp, open(tmp, 'wb') as f:
        torch.save(checkpoint, f)


def publish_checkpoint(src: str, dst: str, keys: Optional[Sequence[str]] = None) -> str:
    """Write a checkpoint for sharing: ``DST-<sha256[:8]>.pth``, OpenMMLab's name
    (the first 8 hex digits of the file's SHA-256, checked by
    :func:`check_published_name` when it is loaded).

    ``src`` is read weights-only and verified (:func:`load_checkpoint_file`). By
    default the file holds ``state_dict`` and ``meta['dataset_meta']`` only (no config
    text, optimizer, schedulers, message hub, random states); ``keys`` keeps those
    top-level entries instead (``CheckpointHook(published_keys=...)``), with the config
    text removed. Returns the path written.

    Raises:
        CheckpointLoadError: ``src`` cannot be read or is not a checkpoint dict.
    """
    checkpoint = load_checkpoint_file(src)
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(
            f'checkpoint {src} holds a {type(checkpoint).__name__}, '
            'not a checkpoint dict with a state_dict')
    checkpoint.pop(INTEGRITY_KEY, None)
    if keys is None:
        meta = checkpoint.get('meta')
        published = {'state_dict': checkpoint.get('state_dict', checkpoint)}
        if isinstance(meta, dict) and 'dataset_meta' in meta:
            published['meta'] = {'dataset_meta': meta['dataset_meta']}
    else:
        published = {k: checkpoint[k] for k in keys if k in checkpoint}
    out = Path(dst)
    stem = str(out.with_suffix('')) if out.suffix == '.pth' else str(out)
    tmp = temporary_name(stem + '.pth')  # its name follows from its content
    try:
        torch.save(published, tmp)
        load_checkpoint_file(tmp, mmap=True, verify=False)
        final = f'{stem}-{file_sha256(tmp)[:8]}.pth'
        publish_file(tmp, final)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return final


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


# ------------------------------------------------ release training checkpoints
class PickledRecord:
    """The attributes of an object pickled in a training checkpoint, kept as data.

    Stands in for mmengine's ``HistoryBuffer`` when a release file is read: the class
    has no methods (no ``__setstate__``), so building it only fills ``__dict__`` and
    mmengine's class, whose ``__setstate__`` updates class-level state, is never
    built."""


#: The statistics a pickled ``HistoryBuffer`` names (its ``statistics_methods``).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_statistic(owner: Any, name: str) -> str:
    """Stands for ``getattr(HistoryBuffer, name)`` in a pickled message hub.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
    'mean')``; allowing the real ``getattr`` would let a file reach any attribute of
    any allowed object. This function only answers those four lookups, with the
    method's name.

    Raises:
        pickle.UnpicklingError: any other lookup, naming it.
    """
    if owner is PickledRecord and name in HISTORY_BUFFER_STATISTICS:
        return f'HistoryBuffer.{name}'
    raise pickle.UnpicklingError(
        f'the file calls getattr({getattr(owner, "__name__", owner)!r}, {name!r}); only '
        f'getattr(HistoryBuffer, {HISTORY_BUFFER_STATISTICS}) is allowed')


try:  # numpy >= 2 (files written with numpy 1 name numpy.core.multiarray)
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core import multiarray as _multiarray

#: What the release training checkpoints hold besides tensors and plain values:
#: ``(object, name in the pickle, why building it cannot run code)``. The DeiT-code
#: files (Pyramid VisionLLaMA ImageNet) keep an ``argparse.Namespace`` under ``args``;
#: the mmpretrain-fork files (MAE encoders) keep mmengine's message hub, whose
#: ``HistoryBuffer`` objects hold numpy arrays.
TRAINING_CHECKPOINT_GLOBALS: AllowList = (
    (argparse.Namespace, 'argparse.Namespace',
     'DeiT-code files: the command-line arguments; a plain attribute container '
     'without __setstate__, so building it only sets attributes'),
    (PickledRecord, 'mmengine.logging.history_buffer.HistoryBuffer',
     "mmengine message hub: read as an inert record; mmengine's class is not built"),
    (history_buffer_statistic, 'builtins.getattr',
     "HistoryBuffer's statistics methods: answers getattr(HistoryBuffer, 'min' | "
     "'max' | 'current' | 'mean') with the name; the real getattr is never called"),
    (_multiarray._reconstruct, 'numpy.core.multiarray._reconstruct',
     'numpy arrays (written with numpy 1): allocates an empty numpy.ndarray'),
    (_multiarray._reconstruct, 'numpy._core.multiarray._reconstruct',
     'numpy arrays (written with numpy 2): allocates an empty numpy.ndarray'),
    (np.ndarray, 'numpy.ndarray',
     'array data: ndarray.__setstate__ copies raw bytes of an allowed dtype'),
    (np.dtype, 'numpy.dtype', 'the dtype of an array or scalar, from its type code'),
    (type(np.dtype(np.float64)), 'numpy.dtypes.Float64DType',
     'HistoryBuffer values (float64); __setstate__ sets the byte order only'),
    (type(np.dtype(np.int64)), 'numpy.dtypes.Int64DType',
     'HistoryBuffer counts (int64); __setstate__ sets the byte order only'),
    (_multiarray.scalar, 'numpy.core.multiarray.scalar',
     'numpy scalars (numpy 1): a number of an allowed dtype from raw bytes'),
    (_multiarray.scalar, 'numpy._core.multiarray.scalar',
     'numpy scalars (numpy 2): a number of an allowed dtype from raw bytes'),
)


def load_training_checkpoint(filename: str, map_location: Any = 'cpu') -> Any:
    """A training checkpoint of the VisionLLaMA release, read weights-only.

    ``torch.load(weights_only=True)`` with :data:`TRAINING_CHECKPOINT_GLOBALS`
    allowed during the call: the DeiT-code files' ``argparse.Namespace`` and the
    mmpretrain-fork files' message hub (as :class:`PickledRecord`). Plain state-dict
    files (AIM, converted files) load as with :func:`load_checkpoint_file`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file is truncated or corrupt, or names any other
            global (the message names it).
    """
    return load_checkpoint_file(
        filename, map_location=map_location, allowed=TRAINING_CHECKPOINT_GLOBALS)
