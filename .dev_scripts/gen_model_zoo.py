"""Write ``configs/*/metafile.yml``, ``model-index.yml`` and the results tables.

Every config under ``configs/<family>/`` (except ``_base_``) gets one model entry:
``Parameters`` / ``FLOPs`` / ``Backbone FLOPs`` counted as
``tools/analysis_tools/get_flops.py`` counts them (on the meta device, the code of
``tests/test_docs/test_metafiles.py``, which checks the result), the paper's reported
numbers from :data:`REPORTED` (marked ``Source: reported ...``), the task
(``Metadata.Task``) and, where the authors published weights that fill this config's
model (the package's ``visionllama_mm.models.weights.RELEASES``), ``Weights:
visionllama://NAME`` and ``Converted From`` (the release's download URLs, code and
layout). The family README's table between the ``<!-- results table -->`` markers and
``docs/en/model_zoo.md`` (with the table of all published weights) are rewritten from
the same data.

Usage (repository root): python .dev_scripts/gen_model_zoo.py
"""
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tests' / 'test_docs'))
from metafile_counts import config_files, measure_on_meta  # noqa: E402

from visionllama_mm.models.weights import RELEASES, SCHEME, ReleaseWeights  # noqa: E402

VLLAMA = 'https://arxiv.org/abs/2403.00522'
COLLECTIONS = {
    'visionllama':
    dict(
        Name='VisionLLaMA',
        Title='VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks',
        URL=VLLAMA,
        Architecture=['VisionLLaMA', '2D RoPE', 'SwiGLU'],
        Code='https://github.com/Meituan-AutoML/VisionLLaMA'),
    'pyramid_visionllama':
    dict(
        Name='Pyramid VisionLLaMA',
        Title='VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks',
        URL=VLLAMA,
        Architecture=['Pyramid VisionLLaMA', 'LSA', 'GSA', 'AS2DRoPE', 'SwiGLU'],
        Code='https://github.com/Meituan-AutoML/VisionLLaMA'),
    'mae_visionllama':
    dict(
        Name='MAE VisionLLaMA',
        Title='VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks',
        URL=VLLAMA,
        Architecture=['VisionLLaMA', 'MAE', '2D RoPE', 'SwiGLU'],
        Code='https://github.com/Meituan-AutoML/VisionLLaMA'),
    'aim':
    dict(
        Name='AIM',
        Title='Scalable Pre-training of Large Autoregressive Image Models',
        URL='https://arxiv.org/abs/2401.08541',
        Architecture=['AIM', 'Prefix-causal attention', 'Attentive probe'],
        Code='https://github.com/apple/ml-aim'),
    'vitg':
    dict(
        Name='ViT-G',
        Title='Scaling Vision Transformers',
        URL='https://arxiv.org/abs/2106.04560',
        Architecture=['Vision Transformer', 'MAP head'],
        Code='https://github.com/google-research/big_vision'),
}

IN1K, ADE, COCO = 'ImageNet-1k', 'ADE20K', 'COCO'
CLS, SEG, DET = 'Image Classification', 'Semantic Segmentation', 'Instance Segmentation'
V = 'reported in arXiv 2403.00522'
#: config stem -> the paper's numbers for that setting (never runs of this package).
REPORTED: Dict[str, List[dict]] = {
    'visionllama-small-p16_8xb256-lamb-800e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 81.6},
            Source=f'{V}, Table 2 (224 px, 800 epochs)')
    ],
    'visionllama-base-p16_8xb64-adamw-20e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 83.6},
            Source=f'{V}, Table 2 (192 px 800 epochs + 224 px 20 epochs)')
    ],
    'visionllama-large-p16_8xb64-adamw-20e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 84.6},
            Source=f'{V}, Table 2 (160 px 800 epochs + 224 px 20 epochs)')
    ],
    'pyramid-visionllama-small_8xb128-300e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 81.6},
            Source=f'{V}, Table 2')
    ],
    'pyramid-visionllama-base_8xb128-300e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 83.2},
            Source=f'{V}, Table 2')
    ],
    'pyramid-visionllama-large_8xb128-300e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 83.6},
            Source=f'{V}, Table 2')
    ],
    'pyramid-visionllama-base_uperhead_8xb2-160k_ade20k-512x512': [
        dict(
            Task=SEG,
            Dataset=ADE,
            Metrics={'mIoU': 49.1},
            Source=f'{V}, Table 4a (single scale)')
    ],
    'pyramid-visionllama-large_uperhead_8xb2-160k_ade20k-512x512': [
        dict(
            Task=SEG,
            Dataset=ADE,
            Metrics={'mIoU': 50.0},
            Source=f'{V}, Table 4a (single scale)')
    ],
    'mask-rcnn_pyramid-visionllama-b_fpn_ms-crop-3x_coco': [
        dict(
            Task='Object Detection',
            Dataset=COCO,
            Metrics={'box AP': 49.1},
            Source=f'{V}, Table 5'),
        dict(Task=DET, Dataset=COCO, Metrics={'mask AP': 43.8}, Source=f'{V}, Table 5')
    ],
    'visionllama-base-p16_8xb128-coslr-100e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 84.0},
            Source=f'{V}, Table 3 (800-epoch MAE pretraining; 84.3 after 1600)')
    ],
    'visionllama-base-p16_8xb2048-linear-coslr-90e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 69.7},
            Source=f'{V}, Table 3 (800-epoch MAE pretraining; 71.7 after 1600)')
    ],
    'visionllama-large-p16_8xb128-coslr-50e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 85.5},
            Source=f'{V}, Table 3 (800-epoch MAE pretraining)')
    ],
    'visionllama-large-p16_8xb2048-linear-coslr-90e_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 77.3},
            Source=f'{V}, Table 3 (800-epoch MAE pretraining)')
    ],
    'visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512': [
        dict(
            Task=SEG,
            Dataset=ADE,
            Metrics={'mIoU': 49.0},
            Source=f'{V}, Table 4b (800-epoch MAE pretraining; 50.2 after 1600)')
    ],
    'mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco': [
        dict(
            Task='Object Detection',
            Dataset=COCO,
            Metrics={'box AP': 52.2},
            Source=f'{V}, Table 6 (800-epoch MAE pretraining)'),
        dict(
            Task=DET,
            Dataset=COCO,
            Metrics={'mask AP': 46.3},
            Source=f'{V}, Table 6 (800-epoch MAE pretraining)')
    ],
    'aim-600m-p14_attentive-probe_8xb128_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 79.4},
            Source='reported by apple/ml-aim (aim-v1/README.md) for the released '
            'AIM-0.6B (DFN-2B+ pretraining), attentive probe on the best layers')
    ],
    'vit-g-p14_ft_8xb64-amp_in1k-224': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 90.45},
            Source='reported in arXiv 2106.04560, abstract (JFT-3B pretraining, '
            '518 px fine-tuning, not this 224 px recipe)')
    ],
    'vit-g-p14_10shot-linear-probe_in1k': [
        dict(
            Task=CLS,
            Dataset=IN1K,
            Metrics={'Top 1 Accuracy': 84.86},
            Source='reported in arXiv 2106.04560, abstract (JFT-3B model, closed-form '
            'least-squares 10-shot probe)')
    ],
}

#: config stem -> the published weights that fill its whole model (the package's
#: release table: name, download URLs, source layout).
WEIGHTS: Dict[str, ReleaseWeights] = {
    Path(w.config).stem: w
    for w in RELEASES.values() if not w.model
}

FAILED: List[str] = []
TASK_ORDER = ('Self-supervised Pretraining', CLS, SEG, DET)


def task_of(stem: str, scope: str) -> str:
    if scope == 'mmseg':
        return SEG
    if scope == 'mmdet':
        return DET
    if stem.startswith(('mae_', 'aim-')) and 'probe' not in stem:
        return 'Self-supervised Pretraining'
    return CLS


def training_data(scope: str, stem: str) -> List[str]:
    data = {'mmseg': [IN1K, ADE], 'mmdet': [IN1K, COCO]}.get(scope, [IN1K])
    return data


def model_entry(config: str, family: str) -> dict:
    stem = Path(config).stem
    from mmengine.config import Config
    scope = Config.fromfile(str(ROOT / config)).default_scope
    counts = measure_on_meta(config)
    metadata = dict(Parameters=counts['params'])
    if 'flops' in counts:
        metadata['FLOPs'] = counts['flops']
    metadata['Backbone FLOPs'] = counts['backbone_flops']
    metadata['Training Data'] = training_data(scope, stem)
    metadata['Task'] = task_of(stem, scope)
    entry = {
        'Name': stem,
        'In Collection': COLLECTIONS[family]['Name'],
        'Config': config,
        'Metadata': metadata,
        'Results': REPORTED.get(stem)
    }
    if stem in WEIGHTS:
        release = WEIGHTS[stem]
        urls = [f.url for f in release.files]
        entry['Weights'] = SCHEME + release.name
        entry['Converted From'] = {
            'Weights': urls[0] if len(urls) == 1 else urls,
            'Code': COLLECTIONS[family]['Code'],
            'Layout': release.layout
        }
    if entry['Results'] is None:
        entry.pop('Results')
    return entry, metadata['Task']


def metafile(family: str, configs: List[str]) -> dict:
    info = COLLECTIONS[family]
    collection = {
        'Name': info['Name'],
        'Metadata': {
            'Architecture': info['Architecture']
        },
        'Paper': {
            'Title': info['Title'],
            'URL': info['URL']
        },
        'README': f'configs/{family}/README.md',
        'Code': {
            'URL': info['Code']
        },
    }
    entries = []
    for config in configs:
        try:
            entries.append(model_entry(config, family))
        except Exception as err:  # report every broken config, then fail
            FAILED.append(f'{config}: {type(err).__name__}: {err}')
    entries.sort(key=lambda e: (TASK_ORDER.index(e[1]), e[0]['Name']))
    return ({
        'Collections': [collection],
        'Models': [e for e, _ in entries]
    }, [task for _, task in entries])


def giga(value: Optional[int]) -> str:
    return '-' if value is None else f'{value / 1e9:.2f}'


def table(models: List[dict], tasks: List[str], link_base: Path) -> str:
    """The results table; config links relative to the folder ``link_base``."""
    rows = [
        '| config | task | params (M) | GFLOPs | backbone GFLOPs '
        '| reported result (paper) | weights |', '|---|---|---:|---:|---:|---|---|'
    ]
    for model, task in zip(models, tasks):
        meta = model['Metadata']
        results = model.get('Results') or []
        reported = '; '.join(f'{k} {v}' for r in results for k, v in r['Metrics'].items())
        link = os.path.relpath(ROOT / model['Config'], link_base)
        weights = f"`{model['Weights']}`" if model.get('Weights') else '-'
        rows.append(f"| [{model['Name']}]({link}) | {task} "
                    f"| {meta['Parameters'] / 1e6:.2f} | {giga(meta.get('FLOPs'))} "
                    f"| {giga(meta['Backbone FLOPs'])} | {reported or '-'} | {weights} |")
    return '\n'.join(rows)


def weights_table(link_base: Path) -> str:
    """Every published set of weights: its name, the files it is converted from,
    the model it fills."""
    rows = ['| weights name | converted from | layout | model |', '|---|---|---|---|']
    for release in RELEASES.values():
        files = '<br>'.join(f'[{Path(f.path).name}]({f.url})' for f in release.files)
        link = os.path.relpath(ROOT / release.config, link_base)
        model = f'[{Path(release.config).stem}]({link})'
        if release.model:
            overrides = ', '.join(f'{part}: ' + ', '.join(f'{k}={v}'
                                                          for k, v in values.items())
                                  for part, values in release.model.items())
            model += f' with {overrides}'
        rows.append(f'| `{release.name}` | {files} | `{release.layout}` | {model} |')
    return '\n'.join(rows)


def replace_between_markers(path: Path, text: str) -> None:
    content = path.read_text(encoding='utf-8')
    pattern = re.compile(r'(<!-- results table -->\n).*?(<!-- /results table -->)', re.S)
    if not pattern.search(content):
        raise ValueError(f'{path}: no <!-- results table --> markers')
    content = pattern.sub(lambda m: m.group(1) + text + '\n' + m.group(2), content)
    path.write_text(content, encoding='utf-8')


def main() -> None:
    configs = config_files()
    imports, zoo = [], [
        '# Model zoo', '', 'Generated from `configs/*/metafile.yml` by '
        '`.dev_scripts/gen_model_zoo.py`. Parameters and FLOPs: one image '
        'at the config\'s test size, counted as '
        '`tools/analysis_tools/get_flops.py` counts them (a multiply-add = '
        '2 FLOPs; Mask R-CNN: backbone only). Results: the papers\' '
        'reported numbers, not runs of this package.', ''
    ]
    for family, info in COLLECTIONS.items():
        family_dir = ROOT / 'configs' / family
        family_configs = [c for c in configs if c.startswith(f'configs/{family}/')]
        meta, tasks = metafile(family, family_configs)
        replace_between_markers(family_dir / 'README.md',
                                table(meta['Models'], tasks, family_dir))
        zoo += [
            f"## {info['Name']}", '', f"[{info['Title']}]({info['URL']}), "
            f"[configs/{family}/README.md](../../configs/{family}/README.md)", '',
            table(meta['Models'], tasks, ROOT / 'docs' / 'en'), ''
        ]
        (family_dir / 'metafile.yml').write_text(
            yaml.safe_dump(meta, sort_keys=False, width=88, allow_unicode=True),
            encoding='utf-8')
        imports.append(f'configs/{family}/metafile.yml')
    (ROOT / 'model-index.yml').write_text(
        yaml.safe_dump({'Import': imports}, sort_keys=False))
    zoo += [
        '## Published weights', '',
        'The weights the authors published, by name. `get_model(NAME, pretrained=True)` '
        '(`visionllama_mm.apis`) builds the model they fill and loads them; '
        '`visionllama://NAME` is their checkpoint in any config (e.g. '
        "`init_cfg=dict(type='Pretrained', checkpoint='visionllama://NAME', "
        "prefix='backbone.')`); `python tools/model_converters/fetch_weights.py NAME` "
        'downloads and converts them. They are converted once and kept in '
        '`$VLLAMA_CACHE/checkpoints` (default `~/.cache/visionllama_mm/checkpoints`); '
        '`VLLAMA_WEIGHTS_BASE_URL` replaces `https://huggingface.co/` in every URL '
        '(a mirror). See [Convert release weights](user_guides/convert_weights.md).', '',
        weights_table(ROOT / 'docs' / 'en'), ''
    ]
    (ROOT / 'docs' / 'en' / 'model_zoo.md').write_text('\n'.join(zoo), encoding='utf-8')
    print(f'{len(configs) - len(FAILED)} configs in {len(imports)} metafiles')
    if FAILED:
        sys.exit('configs that could not be measured (left out):\n' + '\n'.join(FAILED))


if __name__ == '__main__':
    main()
