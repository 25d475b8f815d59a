"""Release weights by name: download, check, convert, cache, load.

``fetch_weights(name)`` downloads the files of :data:`~.releases.RELEASES` ``[name]``
with ``torch.hub.download_url_to_file`` (progress bar; SHA-256 checked where the
release lists one), reads them weights-only
(:func:`visionllama_mm.fileio.load_training_checkpoint`), converts them with the
package's converters and writes ``$VLLAMA_CACHE/checkpoints/NAME.pth`` (default
``~/.cache/visionllama_mm/checkpoints``): written to a temporary file and renamed
only when complete and checked, so the cache never holds half a file. A second call
finds the file and makes no request. ``VLLAMA_WEIGHTS_BASE_URL`` replaces the base of
every release URL (a mirror, or a local server in the tests).

:func:`register_weights_scheme` adds the ``visionllama://NAME`` scheme to mmengine's
``CheckpointLoader``, so any config can say
``init_cfg=dict(type='Pretrained', checkpoint='visionllama://pyramid-visionllama-s_in1k',
prefix='backbone.')``.
"""
import difflib
import http.client
import os
import os.path as osp
import re
import shutil
import tempfile
import zipfile
from typing import Any, Dict, List, Optional, Sequence
from urllib.error import HTTPError, URLError

import torch

from ...errors import CheckpointLoadError, DownloadError, UnknownNameError
from ...fileio import (atomic_path, file_sha256, load_checkpoint_file,
                       load_training_checkpoint, save_checkpoint_file)
from ..converters import convert_aim, convert_visionllama, merge_aim_head
from .releases import RELEASE_BASE_URL, RELEASES, ReleaseFile, ReleaseWeights

#: Environment variables: the cache root and the replacement of the release base URL.
ENV_CACHE = 'VLLAMA_CACHE'
ENV_BASE_URL = 'VLLAMA_WEIGHTS_BASE_URL'
#: The checkpoint scheme of the release weights.
SCHEME = 'visionllama://'
FETCH_TOOL = 'tools/model_converters/fetch_weights.py'


def cache_dir() -> str:
    """``$VLLAMA_CACHE/checkpoints`` (default ``~/.cache/visionllama_mm/checkpoints``)."""
    root = os.environ.get(ENV_CACHE) or osp.join('~', '.cache', 'visionllama_mm')
    return osp.join(osp.expanduser(root), 'checkpoints')


def weights_path(name: str) -> str:
    """Where :func:`fetch_weights` keeps the converted weights of ``name``."""
    return osp.join(cache_dir(), f'{get_release(name).name}.pth')


def release_url(file: ReleaseFile) -> str:
    """The URL of ``file``, under ``$VLLAMA_WEIGHTS_BASE_URL`` when that is set."""
    base = os.environ.get(ENV_BASE_URL) or RELEASE_BASE_URL
    return base.rstrip('/') + '/' + file.path


def closest(name: str, names: Sequence[str]) -> str:
    """``"did you mean 'a', 'b'?"`` for the names most like ``name`` (or all)."""
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.5)
    if close:
        return 'did you mean ' + ', '.join(repr(n) for n in close) + '?'
    return f'known names: {sorted(names)}'


def get_release(name: str) -> ReleaseWeights:
    """The published weights called ``name``.

    Raises:
        UnknownNameError: no such name; the message suggests the closest ones.
    """
    if name not in RELEASES:
        raise UnknownNameError(
            f'no published weights are called {name!r}; {closest(name, RELEASES)}')
    return RELEASES[name]


def _manual_hint(release: ReleaseWeights) -> str:
    files = ' '.join(f'FILE{i + 1}' for i in range(len(release.files))) \
        if len(release.files) > 1 else 'FILE'
    urls = ' and '.join(release_url(f) for f in release.files)
    return (f'cache: {cache_dir()}; without network, download {urls} by other means '
            f'and run `python {FETCH_TOOL} {release.name} --from-file {files}`')


def _download(release: ReleaseWeights, file: ReleaseFile, dst: str,
              progress: bool) -> None:
    url = release_url(file)
    try:
        torch.hub.download_url_to_file(
            url, dst, hash_prefix=file.sha256_prefix, progress=progress)
    except HTTPError as err:
        raise DownloadError(f'{url} answered HTTP {err.code} {err.reason}; '
                            f'{_manual_hint(release)}') from None
    except URLError as err:
        raise DownloadError(f'cannot reach {url} ({err.reason}); '
                            f'{_manual_hint(release)}') from None
    except RuntimeError as err:
        if 'invalid hash value' not in str(err):
            raise
        raise DownloadError(
            f'the file downloaded from {url} has the wrong SHA-256 ({err}); it was '
            f'not kept; {_manual_hint(release)}') from None
    except (http.client.HTTPException, OSError) as err:
        raise DownloadError(f'the download of {url} broke off ({type(err).__name__}: '
                            f'{err}); it was not kept; {_manual_hint(release)}') from None


def _check_sha256(release: ReleaseWeights, file: ReleaseFile, path: str) -> None:
    if file.sha256_prefix is None:
        return
    digest = file_sha256(path)
    if not digest.startswith(file.sha256_prefix):
        raise DownloadError(
            f'{path} has SHA-256 {digest[:16]}..., but the release lists '
            f'{file.sha256_prefix}... for {release_url(file)}: it is not that file')


def _check_is_checkpoint(path: str, source: str, release: ReleaseWeights) -> None:
    """A torch zip checkpoint, or an error saying what came instead."""
    if zipfile.is_zipfile(path):
        return
    with open(path, 'rb') as f:
        start = f.read(4096)
    size = osp.getsize(path)
    if re.search(rb'<(!doctype html|html|head|body)', start.lower()):
        title = re.search(rb'<title>(.*?)</title>', start, re.I | re.S)
        page = title.group(1).decode(errors='replace').strip() if title else 'no title'
        raise DownloadError(
            f'{source} is an HTML page ({page!r}, {size} bytes), not the checkpoint '
            f'(a login, proxy or mirror page?); nothing was kept; {_manual_hint(release)}'
        )
    raise DownloadError(
        f'{source} is truncated or not a torch checkpoint ({size} bytes, no complete '
        f'zip archive); nothing was kept; {_manual_hint(release)}')


def _convert(release: ReleaseWeights, checkpoints: List[Any],
             sources: List[str]) -> Dict[str, torch.Tensor]:
    try:
        if release.layout == 'aim':
            return convert_aim(merge_aim_head(*checkpoints))
        return convert_visionllama(
            checkpoints[0], release.layout, keep_selfsup_heads=True)
    except (KeyError, ValueError) as err:
        raise CheckpointLoadError(
            f'{" + ".join(sources)} does not hold the {release.layout!r} layout that '
            f'{release.name} needs ({err.args[0] if err.args else err}); is it the '
            f'right file for this name?') from None


def _read(path: str, source: str) -> Any:
    try:
        return load_training_checkpoint(path)
    except CheckpointLoadError as err:
        raise CheckpointLoadError(str(err).replace(path, source)) from None


def fetch_weights(name: str,
                  out: Optional[str] = None,
                  from_files: Optional[Sequence[str]] = None,
                  progress: bool = True) -> str:
    """The converted release weights called ``name``: a local file path.

    Uses ``$VLLAMA_CACHE/checkpoints/NAME.pth`` if it is there (no request).
    Otherwise downloads every file of the release (or reads ``from_files``, the
    same files downloaded by other means, in the release's order), checks each
    (SHA-256 where the release lists one; a complete torch checkpoint, not an HTML
    page), reads it weights-only, converts it and writes the cache file. ``out``:
    also write a copy there.

    Raises:
        UnknownNameError: no published weights of that name (closest suggested).
        ValueError: ``from_files`` does not give one file per release file.
        DownloadError: no network, an HTTP error, a broken-off or HTML download or a
            checksum mismatch; names the URL, the cache and the offline fix.
        CheckpointLoadError: a file that is not the release's layout for ``name``,
            or holds an object the weights-only reader does not allow.
    """
    release = get_release(name)
    dst = weights_path(name)
    if from_files is not None and len(from_files) != len(release.files):
        raise ValueError(f'{name} has {len(release.files)} release files '
                         f'({", ".join(osp.basename(f.path) for f in release.files)}), '
                         f'got {len(from_files)} from_files')
    if from_files is not None or not osp.isfile(dst):
        os.makedirs(cache_dir(), exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f'.{name}-', dir=cache_dir()) as tmp:
            checkpoints, sources = [], []
            for i, file in enumerate(release.files):
                if from_files is not None:
                    path, source = from_files[i], from_files[i]
                    if not osp.isfile(path):
                        raise FileNotFoundError(f'{path} (from_files of {name}) does '
                                                'not exist')
                    _check_sha256(release, file, path)
                else:
                    path = osp.join(tmp, osp.basename(file.path))
                    source = release_url(file)
                    _download(release, file, path, progress)
                _check_is_checkpoint(path, source, release)
                checkpoints.append(_read(path, source))
                sources.append(source)
            state = _convert(release, checkpoints, sources)
            del checkpoints
            meta = dict(weights=name, converted_from=sources)
            save_checkpoint_file(dict(state_dict=state, meta=meta), dst)
    if out is not None:
        with atomic_path(out, checkpoint=True) as tmp:
            shutil.copyfile(dst, tmp)
    return dst


def load_weights(name: str, map_location: Any = 'cpu') -> dict:
    """``{'state_dict': ..., 'meta': ...}`` of the release weights ``name``
    (:func:`fetch_weights`, then a weights-only load)."""
    return load_checkpoint_file(fetch_weights(name), map_location=map_location)


def load_from_scheme(filename: str, map_location: Any = None) -> dict:
    """mmengine ``CheckpointLoader`` loader of ``visionllama://NAME``.

    In a distributed run rank 0 fetches first and the others then read its cache
    file (as mmengine's own ``load_from_http``).
    """
    from mmengine.dist import barrier, get_dist_info

    name = filename[len(SCHEME):]
    get_release(name)  # an unknown name fails on every rank before any barrier
    rank, world_size = get_dist_info()
    if rank == 0:
        fetch_weights(name)
    if world_size > 1:
        barrier()
    return load_weights(name, map_location=map_location or 'cpu')


def read_checkpoint(filename: str, map_location: Any = 'cpu') -> Any:
    """A checkpoint from a local file, an ``http(s)://`` URL or ``visionllama://NAME``,
    always read weights-only.

    mmengine's own ``http(s)://`` loader (and the ``open-mmlab://`` / ``torchvision://``
    style schemes built on it) calls ``torch.hub.load_state_dict_from_url`` without
    ``weights_only=True``, i.e. unpickles a file off the internet; this reader
    downloads through torch's hub cache and loads weights-only instead.

    Raises:
        CheckpointLoadError: a scheme this reader cannot load weights-only, naming
            the ones it can and the fix (download the file and give its path).
    """
    filename = str(filename)
    if filename.startswith(SCHEME):
        return load_weights(filename[len(SCHEME):], map_location=map_location)
    if filename.startswith(('http://', 'https://')):
        return torch.hub.load_state_dict_from_url(
            filename, map_location=map_location, weights_only=True)
    if '://' in filename:
        raise CheckpointLoadError(
            f'checkpoint {filename}: the scheme {filename.split("://")[0]}:// cannot be '
            'read weights-only here (supported: a local path, http(s)://, '
            f'{SCHEME}NAME); download the file and give its local path')
    return load_checkpoint_file(filename, map_location=map_location)


def register_weights_scheme() -> None:
    """Add ``visionllama://`` to mmengine's ``CheckpointLoader`` (idempotent).

    Only adds: an existing scheme is never replaced or wrapped.

    Raises:
        KeyError: another loader already owns ``visionllama://``.
    """
    from mmengine.runner import CheckpointLoader
    try:
        CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_scheme)
    except KeyError:
        owner = CheckpointLoader._schemes.get(SCHEME)
        if getattr(owner, '__qualname__', None) != load_from_scheme.__qualname__ or \
                getattr(owner, '__module__', None) != load_from_scheme.__module__:
            raise KeyError(f'the checkpoint scheme {SCHEME} is already registered by '
                           f'{owner!r}; visionllama_mm does not replace it') from None
