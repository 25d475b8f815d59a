"""Every fenced code block of ``docs/en/user_guides/*.md`` runs as the page has it.

The blocks are read from the Markdown when the test runs, so a changed page is tested
as it reads. Each page gets one work folder, a stand-in for the repository root: its
top-level entries are linked there (``configs/``, ``data/``, ``tools/``, ...) and
``work_dirs/`` is a fresh empty folder, so whatever a block writes stays there. The
blocks of a page run in page order, one process each, in that folder:

- ```` ```bash ```` (or ``sh`` / ``shell``): ``bash -e -o pipefail -c BLOCK``;
- ```` ```python title="NAME.py" ````: a file the page names in the prose just above
  the block (a config the next blocks run): written to ``NAME.py`` in the work folder;
  ``NAME`` is a bare file name;
- ```` ```python ```` without a title: ``python -c BLOCK``;
- ```` ```text ````: not run (program output, usage lines with placeholders).

Any other fence language, or a fence without one, fails its test: a new kind of block
is decided here. A block passes when its process exits with status 0.

The processes see the machine as a user of the package does: ``python`` is this
interpreter, this checkout's ``visionllama_mm`` is the one imported, the mmdetection
3.3.0 folder of ``../shared/upstream`` (whose ``projects/ViTDet`` the wheel lacks) is
on ``PYTHONPATH`` as mmdet's README asks, ``MPLBACKEND=Agg`` (no display),
``PORT`` (``tools/dist_train.sh``'s rendezvous port) is a free one, and the release
weights come from a local server instead of the internet: ``VLLAMA_WEIGHTS_BASE_URL``
points at tests/weights_server.py's ``WeightsServer`` (stand-ins in each release
layout; full size for the names of :data:`FULL_SIZE_RELEASES`, whose full models the
guides build) and ``VLLAMA_CACHE`` at a folder of this test session.
"""
import io
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDES = REPO_ROOT / 'docs' / 'en' / 'user_guides'
# ``../shared/upstream`` beside the project root (or beside a folder above a clone)
UPSTREAM_MMDET = next(
    (p / 'shared/upstream/mmdet-3.3.0'
     for p in REPO_ROOT.parents if (p / 'shared/upstream/mmdet-3.3.0').is_dir()),
    REPO_ROOT.parent / 'shared/upstream/mmdet-3.3.0')
SHELL = ('bash', 'sh', 'shell')
NOT_RUN = ('text', )
FENCE = re.compile(r'^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)(.*)$')
TITLE = re.compile(r'\btitle="([^"/\\]+)"')
TIMEOUT_S = 1200
#: Release weights the guides build a full-size model from (Pyramid VisionLLaMA-S:
#: embed dims, depths, SwiGLU widths); the other names get the tiny stand-ins.
FULL_SIZE_RELEASES = {
    'pyramid-visionllama-s_in1k': ([64, 128, 256, 512], [2, 2, 10,
                                                         4], [256, 512, 768, 1536]),
}


@dataclass
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    title: Optional[str]
    text: str
    before: str  # the prose lines just above the fence

    @property
    def id(self) -> str:
        return f'{self.page}:{self.line}'


def blocks_of(page: Path) -> List[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = page.read_text(encoding='utf-8').splitlines()
    found: List[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language, rest = match.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        title = TITLE.search(rest)
        found.append(
            Block(page.name, i + 1, language.lower(),
                  title.group(1) if title else None, '\n'.join(lines[i + 1:end]) + '\n',
                  '\n'.join(lines[max(0, i - 3):i])))
        i = end + 1
    return found


PAGES = sorted(GUIDES.glob('*.md'))
BLOCKS = [block for page in PAGES for block in blocks_of(page)]


@dataclass
class PageRun:
    """The work folder of one page and the outcome of each block run so far."""
    folder: Path
    env: Dict[str, str]
    outcomes: Dict[int, Tuple[bool, str]] = field(default_factory=dict)

    def run(self, block: Block) -> Tuple[bool, str]:
        if block.line not in self.outcomes:
            self.outcomes[block.line] = execute(block, self.folder, self.env)
        return self.outcomes[block.line]


def execute(block: Block, folder: Path, env: Dict[str, str]) -> Tuple[bool, str]:
    """Run (or write) one block; ``(passed, output)``."""
    if block.language == 'python' and block.title:
        (folder / block.title).write_text(block.text, encoding='utf-8')
        return True, ''
    if block.language in SHELL:
        command = ['bash', '-e', '-o', 'pipefail', '-c', block.text]
    elif block.language == 'python':
        command = [sys.executable, '-c', block.text]
    else:
        return True, ''
    try:
        result = subprocess.run(
            command,
            cwd=folder,
            env=dict(env, PORT=str(free_port())),  # tools/dist_train.sh's port
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        return False, f'timed out after {TIMEOUT_S} s\n{err.stdout}\n{err.stderr}'
    output = f'{result.stdout}\n{result.stderr}'
    return result.returncode == 0, output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def work_folder(root: Path) -> Path:
    """A stand-in for the repository root: top-level entries linked, ``work_dirs``
    fresh."""
    root.mkdir(parents=True, exist_ok=True)
    for entry in REPO_ROOT.iterdir():
        if entry.name in ('work_dirs', '.git', '.pytest_cache'
                          ) or entry.name.startswith('.') and entry.is_dir():
            continue
        (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (root / 'work_dirs').mkdir()
    return root


def release_stand_ins() -> Dict[str, bytes]:
    """tests/weights_server.py's stand-ins of every release file, with the full-size
    ones of :data:`FULL_SIZE_RELEASES` (random tensors in the release layout)."""
    from reference import synthetic_pyramid_state_dict
    from weights_server import deit_checkpoint, release_files

    from visionllama_mm.models.weights import RELEASES
    files = release_files()
    for name, (dims, depths, hiddens) in FULL_SIZE_RELEASES.items():
        buffer = io.BytesIO()
        torch.save(
            deit_checkpoint(
                synthetic_pyramid_state_dict(dims, depths, hiddens, num_classes=1000)),
            buffer)
        files[RELEASES[name].files[0].path] = buffer.getvalue()
    return files


@pytest.fixture(scope='module')
def session_env(tmp_path_factory) -> Iterator[Dict[str, str]]:
    """The blocks' environment, with the release weights served from 127.0.0.1."""
    from weights_server import WeightsServer
    with WeightsServer(release_stand_ins()) as server:
        yield server.env(tmp_path_factory.mktemp('vllama_cache'), _user_env())


def _user_env() -> Dict[str, str]:
    env = dict(os.environ)
    python_path = [str(REPO_ROOT), str(UPSTREAM_MMDET)]
    if env.get('PYTHONPATH'):
        python_path.append(env['PYTHONPATH'])
    env.update(
        PYTHONPATH=os.pathsep.join(python_path),
        PATH=os.pathsep.join([str(Path(sys.executable).parent),
                              env.get('PATH', '')]),
        MPLBACKEND='Agg',
        OMP_NUM_THREADS=env.get('OMP_NUM_THREADS', '2'))
    return env


_RUNS: Dict[str, PageRun] = {}


@pytest.fixture
def page_run(request, session_env, tmp_path_factory):
    page = request.param
    if page not in _RUNS:
        folder = work_folder(tmp_path_factory.mktemp(Path(page).stem) / 'repo')
        _RUNS[page] = PageRun(folder, session_env)
    return _RUNS[page]


@pytest.mark.slow
@pytest.mark.parametrize(
    'block,page_run', [pytest.param(b, b.page, id=b.id) for b in BLOCKS],
    indirect=['page_run'])
def test_guide_block_runs(block: Block, page_run: PageRun):
    """The block runs (after every block above it on its page) and exits with 0."""
    assert block.language in (*SHELL, 'python', *NOT_RUN), (
        f'{block.id}: fence language {block.language!r} is neither run by this test '
        f'({SHELL} python) nor a not-run one {NOT_RUN}: fence program output and '
        'usage lines as text, commands as bash')
    if block.title:
        assert block.language == 'python', (
            f'{block.id}: title= on a {block.language!r} block')
        assert block.title in block.before, (
            f'{block.id}: the prose just above the block must name the file '
            f'{block.title!r} that the next blocks use')
    for earlier in BLOCKS:
        if earlier.page == block.page and earlier.line < block.line:
            page_run.run(earlier)  # files and runs later blocks build on
    passed, output = page_run.run(block)
    assert passed, f'{block.id} failed:\n{block.text}\n---\n{output[-6000:]}'


def test_every_fence_opens_or_closes_a_block():
    """The extraction sees every block of the pages: each page's fence lines are the
    openings and closings of the blocks found (a broken fence pattern or an unclosed
    block would silently leave code untested)."""
    for page in PAGES:
        fences = sum(1 for line in page.read_text(encoding='utf-8').splitlines()
                     if FENCE.match(line))
        assert fences == 2 * len(blocks_of(page)), page.name
    assert all(blocks_of(page) for page in PAGES)
