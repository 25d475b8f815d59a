"""The installed package carries the repository's ``configs/``, ``tools/`` and
``model-index.yml`` under ``visionllama_mm/.mim/`` (as mmpretrain / mmseg / mmdet
wheels do), so model names and their configs resolve without a checkout.

Slow (~1 min, a subprocess each): builds the wheel with ``pip wheel --no-deps .`` from
a copy of the working tree, checks its ``.mim`` contents, installs it into a folder
and uses the zoo's names from there.
"""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def tracked_files():
    """The working tree as git sees it (tracked and untracked, not ignored)."""
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True).stdout.splitlines()
    return [f for f in listed if not f.startswith('data/') and (REPO / f).is_file()]


@pytest.mark.slow
def test_wheel_carries_configs_tools_and_model_index(tmp_path):
    src = tmp_path / 'src'
    files = tracked_files()
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    dist = tmp_path / 'dist'
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
        '--disable-pip-version-check', '-q', '-w',
        str(dist),
        str(src)
    ],
                   check=True,
                   capture_output=True,
                   timeout=600)
    wheel = next(dist.glob('visionllama_mm-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f'visionllama_mm/.mim/{f}'
        for f in files if f.startswith(('configs/', 'tools/')) and f.endswith(
            ('.py', '.sh', '.yml', '.md')) or f == 'model-index.yml'
    }
    assert expected and expected <= names, sorted(expected - names)[:10]
    assert not any('__pycache__' in n for n in names)
    assert not any(n.startswith(('configs/', 'tools/', 'tests/')) for n in names)

    # installed (not editable): names and configs resolve inside the package
    site = tmp_path / 'site'
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
        '--disable-pip-version-check', '--target',
        str(site),
        str(wheel)
    ],
                   check=True,
                   capture_output=True,
                   timeout=600)
    script = ('import mmpretrain, visionllama_mm\n'
              'from visionllama_mm.apis import zoo\n'
              'from visionllama_mm.registry import mim_dir\n'
              'print(mim_dir())\n'
              'print(mmpretrain.list_models("*visionllama*")[0])\n'
              'print(zoo()["pyramid-visionllama-small_8xb128-300e_in1k"].config)\n')
    result = subprocess.run([sys.executable, '-c', script],
                            env={
                                'PYTHONPATH': str(site),
                                'PATH': '/usr/bin:/bin'
                            },
                            cwd=tmp_path,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    mim, first, config = result.stdout.splitlines()[-3:]
    assert Path(mim) == site / 'visionllama_mm' / '.mim'
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert index['Import'] and first.startswith('mae_visionllama')
    assert Path(config) == Path(mim) / 'configs/pyramid_visionllama' / \
        'pyramid-visionllama-small_8xb128-300e_in1k.py'
    assert Path(config).is_file()
