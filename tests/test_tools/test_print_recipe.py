"""tools/analysis_tools/print_recipe.py on the release-named configs (config-level)."""
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools'
TOOL = TOOLS / 'print_recipe.py'
spec = importlib.util.spec_from_file_location('print_recipe', TOOL)
print_recipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(print_recipe)

DEIT_S = 'configs/visionllama/visionllama-small-p16_8xb256-lamb-800e_in1k.py'
MAE_FT_L = ('configs/mae_visionllama/benchmarks/'
            'visionllama-large-p16_8xb128-coslr-50e_in1k.py')
PYR_SEG = ('configs/pyramid_visionllama/'
           'pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py')
VITDET = ('configs/mae_visionllama/vitdet/'
          'mask-rcnn_visionllama-b-mae_simplefpn_lsj-36e_coco.py')


def _rows(path, gpus=None):
    cfg = print_recipe.load_config(path)
    return dict(print_recipe.recipe_rows(cfg, Path(path).name, gpus))


def test_plain_supervised_recipe():
    rows = _rows(DEIT_S)
    assert rows['optimizer'] == 'Lamb(lr=0.004, eps=1e-08, weight_decay=0.05)'
    assert rows['total batch'] == \
        '8 GPUs (file name) x 256 per GPU x 1 accumulation = 2048'
    assert rows['sampler'] == 'RepeatAugSampler(num_repeats=3, shuffle=True)'
    assert rows['loss model.head.loss'] == 'BinarizedTargetBCELoss(loss_weight=1)'
    assert rows['eval crop ratio'] == '0.875 (short side 256, centre crop 224)'
    # mmpretrain's RandomBatchAugment: one of the two per batch, evenly
    assert rows['batch augments'] == \
        'one per batch of [Mixup(alpha=0.8) (p 0.5) / CutMix(alpha=1) (p 0.5)]'
    assert rows['layer decay'] == 'none'
    assert rows['no weight decay'] == "1-D params, '.cls_token'"
    assert rows['AMP'].startswith('no') and rows['gradient clipping'] == 'none'
    assert rows['length'] == '800 epochs'
    assert rows['schedule'].startswith('LinearLR(start_factor=0.00025) ep 0-5 (per iter)')
    assert 'CosineAnnealingLR(T_max=795, eta_min=1e-05) ep 5-800' in rows['schedule']
    assert 'one of [' in rows['train pipeline']  # 3-Augment's RandomChoice


def test_accumulation_and_layer_decay():
    rows = _rows(MAE_FT_L)
    assert rows['layer decay'] == '0.45'
    assert rows['total batch'] == \
        '8 GPUs (file name) x 64 per GPU x 2 accumulation = 1024'
    assert "'.ln'" in rows['no weight decay'] and "'.bias'" in rows['no weight decay']
    assert 'ffn_drop_path=False' in rows['backbone']


def test_seg_inference_and_gpus_from_auto_scale_lr():
    assert _rows(PYR_SEG)['inference'] == 'slide 512x512/341x341'
    rows = _rows(VITDET)
    assert rows['total batch'] == \
        '8 GPUs (auto_scale_lr) x 4 per GPU x 2 accumulation = 64'
    assert rows['AMP'] == 'yes (float16, loss scale dynamic)'
    assert rows['length'] == '137250 iterations'
    assert _rows(
        VITDET, gpus=16)['total batch'].endswith('(--gpus) x 4 per GPU x 2 '
                                                 'accumulation = 128')


def test_batch_augments_alternatives_and_sequences():
    mixes = [dict(type='CutMix', alpha=1.0), dict(type='Mixup', alpha=1.0)]
    cls = Config(dict(model=dict(train_cfg=dict(augments=mixes, probs=[0.5, 0.3]))))
    assert print_recipe.batch_augments(cls) == (
        'one per batch of [CutMix(alpha=1) (p 0.5)'
        ' / Mixup(alpha=1) (p 0.3) / none (p 0.2)]')
    # the dict form of mmpretrain's data preprocessor: the same choice
    cls = Config(
        dict(
            model=dict(), data_preprocessor=dict(batch_augments=dict(augments=mixes[0]))))
    assert print_recipe.batch_augments(cls) == 'one per batch of [CutMix(alpha=1) (p 1)]'
    # mmdet / mmseg preprocessors apply their list in turn
    pads = [dict(type='BatchFixedSizePad', size=(8, 8)), dict(type='BatchResize')]
    det = Config(dict(model=dict(data_preprocessor=dict(batch_augments=pads))))
    assert print_recipe.batch_augments(det) == \
        'BatchFixedSizePad(size=(8, 8)) -> BatchResize()'
    assert print_recipe.batch_augments(Config(dict(model=dict()))) == 'none'
    assert _rows(VITDET)['batch augments'] == \
        'BatchFixedSizePad(size=(1024, 1024), pad_mask=True)'


def test_main_prints_one_markdown_table(capsys):
    table = print_recipe.main([MAE_FT_L, '--gpus', '4'])
    out = capsys.readouterr().out
    assert table in out and out.startswith(f'Recipe of {MAE_FT_L}')
    lines = table.splitlines()
    assert lines[0] == '| item | value |'
    assert all(line.count('|') == 3 for line in lines)  # no cell breaks the table
    assert ('| total batch | 4 GPUs (--gpus) x 64 per GPU x 2 accumulation = 512 |'
            in lines)


def test_bad_gpus():
    with pytest.raises(SystemExit):
        print_recipe.main([DEIT_S, '--gpus', '0'])
