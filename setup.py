"""visionllama_mm: VisionLLaMA, AIM and ViT-G/14 for OpenMMLab 2.x.

The OpenMMLab stack (torch, mmcv with compiled ops, mmengine, mmpretrain, mmseg, mmdet)
is installed by ``make install`` (tools/misc/install.sh), because mmcv 2.1.0 has to be
built from source for the pinned torch. ``install_requires`` therefore only names the
pure-Python pins, so ``pip install -e .`` never tries to build mmcv behind your back.
"""
from pathlib import Path
from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    exec(Path('visionllama_mm/version.py').read_text(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    lines = Path('requirements', name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(
    name='visionllama_mm',
    version=read_version(),
    description='VisionLLaMA, AIM and ViT-G/14 backbones for OpenMMLab 2.x '
    '(mmpretrain, mmsegmentation, mmdetection)',
    long_description=Path('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'data')),
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
