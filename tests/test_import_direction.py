"""The package's imports run one way (docs/en/development.md, "Import direction"):
tools → apis → utils → engine → models → models.layers → registry / fileio / errors.

Parses every module of the package (no import is executed) and fails on an edge from
a lower layer to a higher one, naming the module, the line and the imported module.
"""
import ast
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'visionllama_mm'

#: Layers from the top; a module may import its own layer or any layer below it.
#: The first prefix that matches a module's dotted name gives its layer.
LAYERS = (
    ('apis', ('visionllama_mm.apis', )),
    ('utils', ('visionllama_mm.utils', )),
    ('engine', ('visionllama_mm.engine', )),
    ('models', ('visionllama_mm.models', )),
    ('layers', ('visionllama_mm.models.layers', )),
    ('base', ('visionllama_mm.registry', 'visionllama_mm.fileio', 'visionllama_mm.errors',
              'visionllama_mm.version')),
)
#: The package's ``__init__`` imports everything to register it.
TOP = 'visionllama_mm'


def layer_of(module: str) -> Optional[int]:
    """Index in :data:`LAYERS` (0 = top) of a dotted module name, the most specific
    prefix winning (``models.layers`` before ``models``)."""
    best: Tuple[int, int] = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + '.')) and \
                    len(prefix) > best[0]:
                best = (len(prefix), index)
    return None if best[1] < 0 else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imports_of(path: Path) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module)`` for every import of the package in ``path``,
    including imports inside functions."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            # ``from . import x`` may name a submodule: judge ``package.x``.
            for alias in node.names:
                yield node.lineno, target if node.module else f'{target}.{alias.name}'


def upward_edges():
    for path in sorted(PACKAGE.rglob('*.py')):
        name = module_name(path)
        if name == TOP:
            continue
        own = layer_of(name)
        for line, target in imports_of(path):
            if not (target == TOP or target.startswith(TOP + '.')):
                continue
            if target == TOP:
                yield f'{path.relative_to(PACKAGE.parent)}:{line} imports {target}'
                continue
            other = layer_of(target)
            if own is not None and other is not None and other < own:
                yield (f'{path.relative_to(PACKAGE.parent)}:{line} ({LAYERS[own][0]}) '
                       f'imports {target} ({LAYERS[other][0]})')


def test_every_module_has_a_layer():
    unplaced = [
        module_name(p) for p in PACKAGE.rglob('*.py')
        if module_name(p) != TOP and layer_of(module_name(p)) is None
    ]
    assert not unplaced, f'modules in no layer of LAYERS: {unplaced}'


def test_no_import_runs_up_the_layers():
    edges = list(upward_edges())
    assert not edges, 'imports against the layer order:\n' + '\n'.join(edges)


@pytest.mark.parametrize('source, target, upward', [
    ('visionllama_mm/models/utils.py', 'visionllama_mm.engine.x', True),
    ('visionllama_mm/models/layers/rope.py', 'visionllama_mm.models.utils', True),
    ('visionllama_mm/engine/runner.py', 'visionllama_mm.models.layers', False),
    ('visionllama_mm/fileio.py', 'visionllama_mm.errors', False),
])
def test_the_layer_order_itself(source, target, upward):
    own = layer_of(module_name(PACKAGE.parent / source))
    assert (layer_of(target) < own) is upward
