"""The shared no-weight-decay keys (configs/_base_/no_weight_decay.py).

Every config that lists the file gets its sets; the demo configs that use them build
their optimizer on the tiny demo models, and the norms, layer scales, class / mask tokens,
position embedding and MAP latent they exempt get weight decay 0 while a linear weight
keeps it. The sets cover what our backbones name a norm or a layer scale, and the
release-exact recipes take only the sets their release exempts.
"""
import re
from pathlib import Path

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401

SHARED = 'configs/_base_/no_weight_decay.py'
ZERO = dict(decay_mult=0.0)
SETS = {
    'norms': {'norm', '.ln1', '.ln2'},
    'layer_scale': {'.gamma'},
    'cls_token': {'.cls_token'},
    'mask_token': {'.mask_token'},
    'pos_embed': {'.pos_embed'},
    'map_latent': {'.latent'},
}
DEMO = Path('configs/demo')
# demo config -> (sets it takes, parameter-name patterns with no decay, one with decay)
DEMOS = {
    'pyramid-visionllama-tiny_uperhead_demo-shapes.py':
    (('norms', 'layer_scale'), (r'\.ln1\.weight$', r'\.ln2\.bias$', r'\.gamma\d\.weight$',
                                r'^backbone\.norm_list\.\d\.weight$',
                                r'patch_embeds\.\d\.norm\.weight$'), r'\.qkv\.weight$'),
    'mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py':
    (('norms', 'layer_scale'), (r'\.ln1\.weight$', r'\.gamma\d\.weight$',
                                r'^backbone\.norm_list\.\d\.weight$'), r'\.qkv\.weight$'),
    'visionllama-tiny-p4_1xb64-50e_demo-shapes.py':
    (('cls_token', ), (r'^backbone\.cls_token$', ), r'\.qkv\.weight$'),
    'mae_visionllama-tiny-p4_demo-shapes.py':
    (('norms', 'cls_token',
      'mask_token'), (r'^backbone\.cls_token$', r'^neck\.mask_token$',
                      r'^backbone\.layers\.0\.ln1\.weight$', r'^neck\..*ln1\.weight$'),
     r'\.qkv\.weight$'),
    'vit-tiny-p8_map_demo-shapes.py': (('pos_embed', 'map_latent'),
                                       (r'^backbone\.pos_embed$', r'attn_pool\.latent$',
                                        r'attn_pool\.norm\.weight$'), r'\.qkv\.weight$'),
}


def _uses_shared(path: Path) -> bool:
    return 'no_weight_decay' in Config.fromfile(str(path))


def _build(cfg):
    scope = cfg.default_scope
    registry = {
        'mmpretrain': 'mmpretrain.registry',
        'mmseg': 'mmseg.registry',
        'mmdet': 'mmdet.registry'
    }[scope]
    models = __import__(registry, fromlist=['MODELS']).MODELS
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope(scope):
        model = models.build(cfg.model)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            decay[names[id(p)]] = group['weight_decay']
    return model, decay


def test_shared_sets():
    shared = Config.fromfile(SHARED).no_weight_decay
    assert {k: set(v) for k, v in shared.items()} == SETS
    for keys in shared.values():
        assert all(dict(v) == ZERO for v in keys.values())


@pytest.mark.parametrize('name', sorted(DEMOS))
def test_demo_decay(name):
    sets, exempt, decayed = DEMOS[name]
    cfg = Config.fromfile(str(DEMO / name))
    paramwise = cfg.optim_wrapper.paramwise_cfg
    keys = paramwise.get('custom_keys', {})
    keys = set(keys) | set(paramwise.get('no_decay_keys', ()))
    for s in sets:
        assert SETS[s] <= keys, s
    model, decay = _build(cfg)
    for pattern in exempt:
        hits = [n for n in decay if re.search(pattern, n)]
        assert hits, pattern
        assert all(decay[n] == 0 for n in hits), (pattern, hits)
    hits = [n for n in decay if re.search(decayed, n)]
    assert hits and all(decay[n] > 0 for n in hits), decayed


@pytest.mark.parametrize('name', [
    'pyramid-visionllama-tiny_uperhead_demo-shapes.py',
    'visionllama-tiny-p4_1xb64-50e_demo-shapes.py',
    'mae_visionllama-tiny-p4_demo-shapes.py', 'vit-tiny-p8_map_demo-shapes.py',
    'aim-tiny-p4_pretrain_demo-shapes.py'
])
def test_sets_cover_backbone_names(name):
    """Every norm and layer-scale parameter of our backbones (and the MAE decoder /
    MAP pooling) matches the norms / layer_scale set, whatever their modules are
    called."""
    shared = Config.fromfile(SHARED).no_weight_decay
    cfg = Config.fromfile(str(DEMO / name))
    model, _ = _build(cfg)
    norm_types = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)
    for part in ('backbone', 'neck'):
        module = getattr(model, part, None)
        if module is None:
            continue
        for mod_name, mod in module.named_modules():
            is_norm = isinstance(mod, norm_types) or 'RMSNorm' in type(mod).__name__
            for p_name, _ in mod.named_parameters(recurse=False):
                full = f'{part}.{mod_name}.{p_name}'
                if is_norm:
                    assert any(k in full for k in shared.norms), full
                if 'gamma' in full:
                    assert any(k in full for k in shared.layer_scale), full


def test_release_recipes_take_their_sets():
    """The release-exact recipes take only what their release exempts."""
    cfgs = {
        p: Config.fromfile(str(p))
        for p in sorted(Path('configs').rglob('*.py'))
        if '_base_' not in p.parts and _uses_shared(p)
    }
    assert len(cfgs) >= 30
    for path, cfg in cfgs.items():
        paramwise = cfg.optim_wrapper.get('paramwise_cfg', {})
        keys = set(paramwise.get('custom_keys', {})) | set(
            paramwise.get('no_decay_keys', ()))
        name = path.name
        if path.parent.name == 'pyramid_visionllama':
            # norms as ln1 / ln2 besides the base's 'norm'; gammas and biases decayed
            assert SETS['norms'] <= keys and '.gamma' not in keys, path
        elif 'lamb' in name or 'adamw-20e' in name:  # DeiT-III style
            assert paramwise.flat_decay_mult == 0.0 and keys == SETS['cls_token'], path
        elif 'attentive-probe' in name:
            assert paramwise.flat_decay_mult == 0.0 and keys == SETS['map_latent'], path
        elif path.parent.name == 'vitg':
            assert keys == SETS['pos_embed'] | SETS['map_latent'], path
