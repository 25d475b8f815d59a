"""Every relative link in every Markdown file of the repository resolves.

Inline links and images ``[text](target)`` and reference definitions ``[id]: target``
outside code are checked: the target file or folder exists (relative to the Markdown
file, or to the repository root for ``/path``), and a ``#fragment`` names a heading of
the target Markdown file (GitHub's anchor rule). URLs with a scheme are not fetched.
"""
import re
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {'.git', 'work_dirs', '.pytest_cache', '.benchmarks', 'build', 'dist'}
INLINE_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]'  # [text], one nesting level
                         r'\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')  # (target "title")
REFERENCE_DEF = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$')
FENCE = re.compile(r'^\s*(```|~~~)')
INLINE_CODE = re.compile(r'`+[^`]*`+')
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def markdown_files() -> List[Path]:
    return sorted(
        p for p in REPO_ROOT.rglob('*.md')
        if not SKIP_DIRS.intersection(p.relative_to(REPO_ROOT).parts))


def prose_lines(path: Path, keep_code: bool = False) -> Iterator[Tuple[int, str]]:
    """Lines outside fenced code blocks, inline code removed unless ``keep_code``."""
    in_fence = False
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line if keep_code else INLINE_CODE.sub('', line)


def links(path: Path) -> Iterator[Tuple[int, str]]:
    for number, line in prose_lines(path):
        for match in INLINE_LINK.finditer(line):
            yield number, match.group(1)
        definition = REFERENCE_DEF.match(line)
        if definition:
            yield number, definition.group(1)


def github_anchor(heading: str) -> str:
    """GitHub's id of a heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # keep link text only
    text = re.sub(r'[^\w\- ]', '', text.strip().lower())
    return text.replace(' ', '-')


def anchors(path: Path) -> Set[str]:
    found: Set[str] = set()
    seen: dict = {}
    for _, line in prose_lines(path, keep_code=True):
        heading = re.match(r'^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$', line)
        if heading:
            anchor = github_anchor(heading.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f'{anchor}-{count}')
    return found


def broken_links(path: Path, root: Path = REPO_ROOT) -> List[str]:
    """``'file:line: target (reason)'`` for every relative link of ``path`` that
    does not resolve; ``root`` is where ``/``-links start."""
    problems = []
    for number, target in links(path):
        if SCHEME.match(target) or target.startswith('//'):
            continue  # a URL: not checked offline
        file_part, _, fragment = target.partition('#')
        if file_part.startswith('/'):
            resolved = root / file_part.lstrip('/')
        elif file_part:
            resolved = (path.parent / file_part).resolve()
        else:
            resolved = path
        where = f'{path.relative_to(root)}:{number}: {target}'
        if not resolved.exists():
            problems.append(f'{where} (no such file)')
        elif fragment and resolved.suffix == '.md' and fragment not in anchors(resolved):
            problems.append(f'{where} (no heading #{fragment} in {resolved.name})')
    return problems


def test_markdown_files_found():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in markdown_files()}
    assert 'README.md' in names and 'docs/benchmarks.md' in names


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_resolve(path):
    assert broken_links(path) == []


def test_checker_reports_broken_links(tmp_path):
    """The checker itself finds a missing file and a missing heading."""
    (tmp_path / 'other.md').write_text('# Title\n\n## Some `code` heading\n')
    doc = tmp_path / 'doc.md'
    doc.write_text('[ok](other.md#some-code-heading) [bad](missing.md)\n'
                   '[badanchor](other.md#nope) [url](https://example.org/x.md)\n'
                   '`[in code](missing2.md)`\n```\n[fenced](missing3.md)\n```\n'
                   '[ref]: ./other.md#title\n')
    problems = broken_links(doc, root=tmp_path)
    assert len(problems) == 2
    assert 'missing.md (no such file)' in problems[0]
    assert 'other.md#nope (no heading #nope in other.md)' in problems[1]
