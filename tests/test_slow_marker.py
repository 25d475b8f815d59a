"""Every test that spawns a subprocess, compiles, starts a distributed group or trains
through a runner carries the ``slow`` marker (``make test-fast`` leaves those out).

The marker is given centrally (``SLOW_MODULES`` / ``SLOW_TESTS`` in tests/conftest.py)
or by the test's own ``@pytest.mark.slow``. Each test function is parsed (nothing
runs), together with what it reaches in its module (helper functions it calls,
fixtures it requests) and the helper modules of tests/ it imports from, and the kinds
of slow work below are looked for; a test that does one and is not marked fails here,
naming it and what it does.
"""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
from conftest import SLOW_MODULES, SLOW_TESTS, is_slow

TESTS = Path(__file__).resolve().parent
#: calls whose name (the last part of a dotted name) starts a process or a group
PROCESS_CALLS = {
    'run': 'subprocess',
    'Popen': 'subprocess',
    'check_output': 'subprocess',
    'check_call': 'subprocess',
    'system': 'subprocess',
    'spawn': 'distributed',
    'init_process_group': 'distributed',
    'init_cpu_distributed': 'distributed',
    'compile': 'torch.compile'
}
#: string constants that name slow work (a tool's command line, a compile backend)
STRINGS = {
    'tools/train.py': 'trains a demo through tools/train.py',
    'dist_train.sh': 'distributed',
    'torchrun': 'distributed',
    'aot_eager': 'torch.compile',
    'inductor': 'torch.compile'
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f'{_dotted(node.value)}.{node.attr}'
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _dotted(node.func) + '()'
    return ''


def slow_work(node: ast.AST) -> Set[str]:
    """The kinds of slow work ``node``'s own code does (a function: its body, not its
    decorators)."""
    found = set()
    body = node.body if isinstance(node, ast.FunctionDef) else [node]
    for sub in (sub for part in body for sub in ast.walk(part)):
        if isinstance(sub, ast.Attribute) and _dotted(sub) in ('sys.executable',
                                                               'torch.compile'):
            found.add('subprocess' if sub.attr == 'executable' else 'torch.compile')
        elif isinstance(sub, ast.Call):
            name = _dotted(sub.func)
            module, _, last = name.rpartition('.')
            if last in PROCESS_CALLS and (module in ('subprocess', 'os', 'mp', 'torch',
                                                     'torch.distributed')
                                          or last.startswith('init_')):
                found.add(PROCESS_CALLS[last])
            # runner.train(), build_runner(cfg).train(), Runner.from_cfg(cfg).train()
            if last == 'train' and not sub.args and 'runner' in module.lower():
                found.add('trains through a runner')
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found.update(why for text, why in STRINGS.items() if text in sub.value)
    return found


def _functions(path: Path) -> Dict[str, ast.FunctionDef]:
    """Top-level functions of ``path`` and those it imports from tests/ helpers."""
    tree = ast.parse(path.read_text(), str(path))
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            helper = TESTS / (node.module.replace('.', '/') + '.py')
            if not helper.is_file():
                helper = path.parent / (node.module.split('.')[-1] + '.py')
            if helper.is_file() and helper != path:
                imported = _functions(helper)
                functions.update({
                    a.asname or a.name: imported[a.name]
                    for a in node.names if a.name in imported
                })
    functions.update({
        n.name: n
        for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    })
    return functions


def _reach(name: str, functions: Dict[str, ast.FunctionDef], seen: Set[str]) -> Set[str]:
    """Slow work of ``functions[name]`` and of the module functions and fixtures it
    calls or requests, transitively."""
    if name in seen or name not in functions:
        return set()
    seen.add(name)
    node = functions[name]
    found = slow_work(node)
    used = {a.arg for a in node.args.args}
    used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    for other in used:
        found |= _reach(other, functions, seen)
    return found


def _marked_slow(decorators) -> bool:
    return any('mark.slow' in ast.unparse(d) for d in decorators)


def all_tests() -> List[Tuple[str, str, Set[str], bool]]:
    """``(module, test, slow work, own slow decorator)`` of every test function
    (parsed once per session)."""
    if not _PARSED:
        _PARSED.extend(_iter_tests())
    return _PARSED


_PARSED: List[Tuple[str, str, Set[str], bool]] = []


def _iter_tests() -> Iterator[Tuple[str, str, Set[str], bool]]:
    for path in sorted(TESTS.rglob('test_*.py')):
        module = path.relative_to(TESTS).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        module_marked = any(
            isinstance(n, ast.Assign) and 'pytestmark' in ast.unparse(n.targets[0])
            and 'mark.slow' in ast.unparse(n.value) for n in tree.body)
        functions = _functions(path)
        tests = [(n, []) for n in tree.body if isinstance(n, ast.FunctionDef)]
        tests += [(m, n.decorator_list) for n in tree.body if isinstance(n, ast.ClassDef)
                  for m in n.body if isinstance(m, ast.FunctionDef)]
        for node, outer in tests:
            if node.name.startswith('test_'):
                functions_here = dict(functions, **{node.name: node})
                marked = module_marked or _marked_slow(node.decorator_list + outer)
                yield module, node.name, _reach(node.name, functions_here, set()), marked


def test_every_slow_test_is_marked():
    unmarked = [
        f'{module}::{test} ({", ".join(sorted(work))})'
        for module, test, work, marked in all_tests()
        if work and not marked and not is_slow(module, test)
    ]
    assert not unmarked, ('these tests do slow work but are not marked slow: list them '
                          'in SLOW_TESTS / SLOW_MODULES of tests/conftest.py or decorate '
                          'them with @pytest.mark.slow:\n' + '\n'.join(unmarked))


def test_slow_list_names_existing_tests():
    tests = {(module, test) for module, test, _, _ in all_tests()}
    modules = {module for module, _ in tests}
    stale = [
        f'{module}::{test}' for module, names in SLOW_TESTS.items()
        for test in names if (module, test) not in tests
    ] + [module for module in SLOW_MODULES if module not in modules]
    assert not stale, f'tests/conftest.py lists tests that do not exist: {stale}'


@pytest.mark.parametrize('code, work', [
    ('subprocess.run([sys.executable, "tools/train.py"])',
     {'subprocess', 'trains a demo through tools/train.py'}),
    ('torch.compile(model, backend="aot_eager")', {'torch.compile'}),
    ('runner.train()', {'trains through a runner'}),
    ('Runner.from_cfg(cfg).train()', {'trains through a runner'}),
    ('init_cpu_distributed(cfg, "pytorch")', {'distributed'}),
    ('model.train(); tool.run(model)', set()),
])
def test_the_scan_finds_each_kind(code, work):
    assert slow_work(ast.parse(code)) == work
