"""``import visionllama_mm`` (a config's ``custom_imports``) registers classes, the
zoo's names in mmpretrain's ``ModelHub`` and the ``visionllama://`` checkpoint scheme,
and changes nothing else in the process; names of its own never clash with mmdet's
``projects/ViTDet`` (imported before or after it)."""
import subprocess
import sys
import textwrap

SNAPSHOT = '''
import os, torch, mmengine.dist, mmengine.hooks, mmengine.runner
from mmengine.runner import CheckpointLoader, FlexibleRunner, Runner
from mmpretrain.apis import ModelHub
# what a config's custom_imports runs inside (these imports set TORCHINDUCTOR_CACHE_DIR)
import mmdet.models, mmpretrain.models, mmseg.models

def snapshot():
    state = {f'Runner.{k}': v for k, v in vars(Runner).items()}
    state.update({f'FlexibleRunner.{k}': v for k, v in vars(FlexibleRunner).items()})
    state.update({f'CheckpointHook.{k}': v
                  for k, v in vars(mmengine.hooks.CheckpointHook).items()})
    state.update({f'scheme {k}': v for k, v in CheckpointLoader._schemes.items()})
    state.update({'torch.load': torch.load, 'torch.save': torch.save,
                  'torch.cuda.set_device': torch.cuda.set_device,
                  'init_dist': mmengine.dist.init_dist,
                  'environ': dict(os.environ)})
    state.update({f'ModelHub.{k}': v for k, v in vars(ModelHub).items()
                  if k != '_models_dict'})
    state.update({f'model {k}': v for k, v in ModelHub._models_dict.items()})
    return state
'''


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300)


def test_import_changes_nothing_but_the_registries():
    result = run(SNAPSHOT + '''
before = snapshot()
import visionllama_mm
after = snapshot()
changed = sorted(k for k in set(before) | set(after)
                 if before.get(k, 'missing') is not after.get(k, 'missing')
                 and before.get(k) != after.get(k))
# added, nothing replaced: the scheme and the names of the package's model-index.yml
from modelindex.load_model_index import load
from visionllama_mm.models.weights import load_from_scheme
from visionllama_mm.registry import mim_dir
index = load(os.path.join(mim_dir(), 'model-index.yml'))
index.build_models_with_collections()
added = sorted(['scheme visionllama://'] + [f'model {m.name}' for m in index.models])
assert changed == added and not set(added) & set(before), (changed, added)
assert after['scheme visionllama://'] is load_from_scheme
from mmdet.registry import MODELS
assert MODELS.get('VisionLLaMA') is visionllama_mm.models.VisionLLaMA
print('unchanged')
''')
    assert result.returncode == 0 and 'unchanged' in result.stdout, result.stderr[-3000:]


# mmdet 3.3.0 registers these in projects/ViTDet/vitdet (not shipped in its wheel)
VITDET = '''
import torch
from mmdet.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.hooks import Hook
from mmengine.optim import DefaultOptimWrapperConstructor

def import_vitdet_project():
    for name in ('ViT', 'SimpleFPN', 'LN2d'):
        MODELS.register_module(name=name, module=type(name, (torch.nn.Module, ), {}))
    HOOKS.register_module(name='Fp16CompresssionHook',
                          module=type('Fp16CompresssionHook', (Hook, ), {}))
    OPTIM_WRAPPER_CONSTRUCTORS.register_module(
        name='LayerDecayOptimizerConstructor',
        module=type('LayerDecayOptimizerConstructor',
                    (DefaultOptimWrapperConstructor, ), {}))
'''


def test_vitdet_project_and_package_import_in_either_order():
    for first, second in (('import_vitdet_project()', 'import visionllama_mm'),
                          ('import visionllama_mm', 'import_vitdet_project()')):
        result = run(VITDET + f'''
{first}
{second}
from visionllama_mm.models import SimpleFeaturePyramid
assert MODELS.get('SimpleFeaturePyramid') is SimpleFeaturePyramid
assert MODELS.get('SimpleFPN').__module__ == '__main__'  # the project's, untouched
print('ok')
''')
        assert result.returncode == 0 and 'ok' in result.stdout, \
            (first, result.stderr[-3000:])
