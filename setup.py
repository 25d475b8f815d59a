"""visionllama_mm: VisionLLaMA, AIM and ViT-G/14 for OpenMMLab 2.x.

The OpenMMLab stack (torch, mmcv with compiled ops, mmengine, mmpretrain, mmseg, mmdet)
is installed by ``make install`` (tools/misc/install.sh), because mmcv 2.1.0 has to be
built from source for the pinned torch. ``install_requires`` therefore only names the
pure-Python pins, so ``pip install -e .`` never tries to build mmcv behind your back.

As the mmpretrain / mmseg / mmdet packages do, the installed package carries the
repository's ``configs/``, ``tools/`` and ``model-index.yml`` in
``visionllama_mm/.mim/`` (links for an editable install, copies in a wheel or sdist):
model names and ``visionllama_mm::`` config paths then resolve without a checkout.
"""
import os
import os.path as osp
import shutil
import sys
from pathlib import Path
from setuptools import find_packages, setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension() -> None:
    """Put :data:`MIM_FILES` into ``visionllama_mm/.mim``: symbolic links for an
    editable install (``develop`` / ``editable_wheel``), copies for a wheel or an
    sdist; other commands (``egg_info``, ``dist_info``) leave it as it is."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if os.name == 'nt' else 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim = osp.join(repo, 'visionllama_mm', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(repo, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


def read_version() -> str:
    scope: dict = {}
    exec(Path('visionllama_mm/version.py').read_text(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    lines = Path('requirements', name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


add_mim_extension()
setup(
    name='visionllama_mm',
    version=read_version(),
    description='VisionLLaMA, AIM and ViT-G/14 backbones for OpenMMLab 2.x '
    '(mmpretrain, mmsegmentation, mmdetection)',
    long_description=Path('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'data')),
    include_package_data=True,  # visionllama_mm/.mim (MANIFEST.in)
    python_requires='>=3.9',
    install_requires=[],
    extras_require={
        'deploy': read_requirements('deploy.txt'),
        'mim': read_requirements('mminstall.txt'),
        'runtime': read_requirements('runtime.txt'),
        'tests': read_requirements('tests.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
