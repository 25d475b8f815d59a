"""The model zoo metadata (``model-index.yml`` -> ``configs/*/metafile.yml``) is true.

* ``model-index.yml`` imports one metafile per family and mim's ``modelindex`` loads
  the whole index without check errors;
* every config under ``configs/`` (except ``demo/`` and ``_base_/``) is listed exactly
  once, every listed config exists, parses as an mmengine ``Config`` and has a
  README row;
* ``Parameters``, ``FLOPs`` and ``Backbone FLOPs`` are what
  ``tools/analysis_tools/get_flops.py`` reports (the same ``model_complexity`` count of
  the same synthetic batch), counted here on the meta device: shapes only, so even
  the 2-3B-parameter models cost no memory. ``FLOPs`` is left out for Mask R-CNN
  configs, whose forward runs NMS on tensor values;
* every result is marked as reported by the paper (never a run of this package);
* every entry names its task, and ``Weights`` is ``visionllama://NAME`` of the
  package's published weights (``RELEASES``) that fill exactly that config, with their
  download URLs and layout under ``Converted From``; every published set of weights
  fills a listed config.
"""
import re
from pathlib import Path
from typing import List

import pytest
import yaml
from metafile_counts import config_files, load_cached, measure_on_meta

from visionllama_mm.apis import TASKS
from visionllama_mm.models.weights import RELEASES, SCHEME

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBFOLDERS = ('benchmarks', 'upernet', 'vitdet')
FAMILIES = ('visionllama', 'pyramid_visionllama', 'mae_visionllama', 'aim', 'vitg')


def load_yaml(path: Path) -> dict:
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def metafiles() -> List[Path]:
    index = load_yaml(REPO_ROOT / 'model-index.yml')
    return [REPO_ROOT / entry for entry in index['Import']]


def all_models() -> List[dict]:
    return [model for path in metafiles() for model in load_yaml(path)['Models']]


MODELS = all_models()


def test_model_index_imports_every_family():
    expected = [REPO_ROOT / 'configs' / family / 'metafile.yml' for family in FAMILIES]
    assert metafiles() == expected
    assert all(path.is_file() for path in expected)


def test_modelindex_loads_without_errors():
    """mim reads the index with ``modelindex``; its own check must be clean."""
    import modelindex
    index = modelindex.load(str(REPO_ROOT / 'model-index.yml'))
    index.build_models_with_collections()
    # OpenMMLab metafiles give README paths from the repository root (mim reads them
    # so); modelindex resolves them from the metafile's folder: checked above instead
    errors = [e for e in index.check(silent=True) if 'Path to README file' not in e]
    assert errors == []
    assert len(index.models) == len(MODELS)


def test_every_config_listed_once():
    listed = [model['Config'] for model in MODELS]
    assert sorted(listed) == config_files()
    names = [model['Name'] for model in MODELS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize('path', metafiles(), ids=lambda p: p.parent.name)
def test_collection_and_readme(path):
    meta = load_yaml(path)
    collections = {c['Name']: c for c in meta['Collections']}
    readme = (REPO_ROOT / next(iter(collections.values()))['README']).read_text()
    for collection in collections.values():
        assert collection['Paper']['URL'].startswith('https://arxiv.org/abs/')
        assert (REPO_ROOT / collection['README']).is_file()
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert Path(model['Config']).name in readme, f'{model["Name"]} not in README'
        assert readme.count('## Differences from the release') <= 1


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_model_entry(model):
    config = REPO_ROOT / model['Config']
    assert config.is_file()
    cfg = load_cached(model['Config'])  # Config.fromfile, shared with the count
    assert cfg.model.get('type') is not None
    metadata = model['Metadata']
    assert isinstance(metadata['Parameters'], int) and metadata['Parameters'] > 0
    assert ('FLOPs' in metadata) == (cfg.default_scope != 'mmdet')
    for result in model.get('Results') or []:
        assert set(result) >= {'Task', 'Dataset', 'Metrics', 'Source'}
        assert result['Source'].startswith('reported'), result
        assert all(isinstance(v, (int, float)) for v in result['Metrics'].values())
    assert metadata['Task'] in TASKS
    weights = model.get('Weights')
    if weights is not None:  # published weights by name, named in the family README
        name = weights[len(SCHEME):]
        assert weights.startswith(SCHEME) and name in RELEASES, weights
        release = RELEASES[name]
        assert (release.config, release.model) == (model['Config'], {}), name
        urls = [f.url for f in release.files]
        assert model['Converted From']['Weights'] == (urls[0] if len(urls) == 1 else urls)
        assert model['Converted From']['Layout'] == release.layout
        readme = (config.parents[1 if config.parent.name in SUBFOLDERS else 0] /
                  'README.md').read_text(encoding='utf-8')
        assert re.search(rf'`{re.escape(weights)}`', readme), weights
    else:
        assert 'Converted From' not in model


def test_every_release_fills_a_listed_model():
    configs = {model['Config'] for model in MODELS}
    with_weights = {model['Weights'] for model in MODELS if 'Weights' in model}
    for name, release in RELEASES.items():
        assert release.config in configs, name
        assert (SCHEME + name in with_weights) == (not release.model), name


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_params_and_flops_match_get_flops(model):
    counts = measure_on_meta(model['Config'])
    metadata = model['Metadata']
    assert metadata['Parameters'] == counts['params']
    assert metadata['Backbone FLOPs'] == counts['backbone_flops']
    if 'flops' in counts:
        assert metadata['FLOPs'] == counts['flops']
