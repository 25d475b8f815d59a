"""Compare every config of ``configs/`` as mmengine resolves it, at two git revisions.

A refactor of the configs (new ``_base_`` files, a config that now inherits another)
must not change what a config means: this script resolves each config
(``Config.fromfile(path).to_dict()``) in a checkout of ``--base`` and in the working
tree, flattens both to ``dotted.path = repr(value)`` lines and prints, per config, the
lines that differ in what a runner reads (with ``--all`` also the helper variables and
the ``_scope_`` markers that ``mmpretrain::`` / ``mmseg::`` / ``mmdet::`` inheritance
adds, which are otherwise only counted). Configs only in one of the two trees are listed
as added / removed.

Examples::

    python .dev_scripts/diff_resolved_configs.py --base main
    python .dev_scripts/diff_resolved_configs.py --base HEAD~3 --configs configs/demo

The base tree is a temporary ``git worktree`` (removed afterwards); each tree is
resolved in its own Python process with that tree first on ``PYTHONPATH``. Exit code 1
when anything differs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]


def flatten(node: Any, prefix: str = '') -> Dict[str, str]:
    """``{'a.b.0.c': repr(value)}`` of a resolved config; empty dicts / lists and
    tuples vs lists stay visible."""
    if isinstance(node, dict) and node:
        out: Dict[str, str] = {}
        for key in sorted(node, key=str):
            out.update(flatten(node[key], f'{prefix}{key}.'))
        return out
    if isinstance(node, (list, tuple)) and node:
        out = {}
        for i, value in enumerate(node):
            out.update(flatten(value, f'{prefix}{i}.'))
        out[f'{prefix}<{type(node).__name__}>'] = str(len(node))
        return out
    return {prefix[:-1]: repr(node)}


def dump(tree: Path, configs: str) -> Dict[str, Dict[str, str]]:
    """Resolve every ``*.py`` below ``tree/configs`` (no ``_base_`` files) in a fresh
    interpreter whose working directory and first import path is ``tree``."""
    code = ('import json, sys\n'
            'from mmengine.config import Config\n'
            'sys.path.insert(0, ".")\n'
            'from diff_resolved_configs import resolve_all\n'
            'json.dump(resolve_all(sys.argv[1]), sys.stdout)\n')
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(tree),
                                                str(ROOT / '.dev_scripts')]))
    result = subprocess.run([sys.executable, '-c', code, configs],
                            cwd=tree,
                            env=env,
                            capture_output=True,
                            text=True)
    if result.returncode:
        sys.exit(f'resolving the configs of {tree} failed:\n{result.stderr[-4000:]}')
    return json.loads(result.stdout)


def resolve_all(configs: str) -> Dict[str, Dict[str, str]]:
    """``{path: flattened config}`` of every config below ``configs`` (run in a tree)."""
    from mmengine.config import Config
    out = {}
    for path in sorted(Path(configs).rglob('*.py')):
        if '_base_' in path.parts:
            continue
        try:
            out[str(path)] = flatten(Config.fromfile(str(path)).to_dict())
        except Exception as exc:  # reported as a difference, not a crash
            out[str(path)] = {'<error>': f'{type(exc).__name__}: {exc}'}
    return out


#: top-level names mmengine's Runner / FlexibleRunner and the OpenMMLab tools read; any
#: other top-level name of a config is a helper variable of its files.
RUNNER_KEYS = {
    'model', 'data_preprocessor', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'val_evaluator', 'test_evaluator',
    'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'default_hooks', 'custom_hooks',
    'env_cfg', 'randomness', 'load_from', 'resume', 'log_processor', 'log_level',
    'visualizer', 'vis_backends', 'default_scope', 'custom_imports', 'runner_type',
    'strategy', 'launcher', 'model_wrapper_cfg', 'compile', 'work_dir', 'experiment_name',
    'tta_model', 'tta_pipeline'
}


def kind(key: str) -> str:
    """``'helper'`` (a top-level name no runner reads), ``'scope'`` (only a
    ``_scope_`` marker that ``scope::`` inheritance adds) or ``'runner'``."""
    if key.split('.', 1)[0] not in RUNNER_KEYS:
        return 'helper'
    return 'scope' if key.endswith('._scope_') else 'runner'


def compare(before: Dict[str, Dict[str, str]],
            after: Dict[str, Dict[str, str]],
            show_all: bool = False) -> List[str]:
    """Report lines: configs added / removed, then ``-`` / ``+`` lines per config.

    Without ``show_all`` only the keys a runner reads are listed line by line; the
    differences in helper variables and ``_scope_`` markers are counted.
    """
    lines = [f'removed: {p}' for p in sorted(before.keys() - after.keys())]
    lines += [f'added: {p}' for p in sorted(after.keys() - before.keys())]
    same = 0
    for path in sorted(before.keys() & after.keys()):
        old, new = before[path], after[path]
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        if not keys:
            same += 1
            continue
        lines.append(f'{path}:')
        counts = {'helper': 0, 'scope': 0}
        for key in keys:
            if kind(key) != 'runner' and not show_all:
                counts[kind(key)] += 1
                continue
            if key in old:
                lines.append(f'  - {key} = {old[key]}')
            if key in new:
                lines.append(f'  + {key} = {new[key]}')
        if any(counts.values()):
            lines.append(f"  ({counts['helper']} helper-variable and {counts['scope']} "
                         '_scope_ differences not shown)')
    lines.append(f'{same} of {len(before.keys() & after.keys())} configs resolve '
                 'identically')
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--base', default='main', help='git revision to compare with')
    parser.add_argument('--configs', default='configs', help='folder of the configs')
    parser.add_argument('--all', action='store_true', help='list every difference')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    after = dump(ROOT, args.configs)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / 'base'
        subprocess.run(['git', 'worktree', 'add', '--detach', '-q',
                        str(base), args.base],
                       cwd=ROOT,
                       check=True)
        try:
            before = dump(base, args.configs)
        finally:
            subprocess.run(['git', 'worktree', 'remove', '--force',
                            str(base)],
                           cwd=ROOT,
                           check=True)
    lines = compare(before, after, args.all)
    print('\n'.join(lines))
    return int(len(lines) > 1)


if __name__ == '__main__':
    sys.exit(main())
