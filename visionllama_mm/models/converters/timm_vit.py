"""A timm ``VisionTransformer`` without class token to ``ViTG`` keys.

Supported layouts: timm's ``vit_gigantic_patch14_224`` (ViT-G/14) and
``vit_giant_patch14_224`` (ViT-g/14), and any timm ViT of the same structure, built with
``class_token=False`` and ``global_pool='map'`` (the paper's setup) or ``'avg'``.
With ``class_token=False`` timm's ``pos_embed`` is ``(1, h*w, C)`` whether or not
``no_embed_class`` is set, which is exactly ``ViTG.pos_embed``.

Renames (everything else is an error, never silently dropped):

==============================  ==========================================
timm                            visionllama_mm (``ImageClassifier``)
==============================  ==========================================
``patch_embed.proj.*``          ``backbone.patch_embed.projection.*``
``pos_embed``                   ``backbone.pos_embed``
``blocks.N.norm1/norm2.*``      ``backbone.layers.N.ln1/ln2.*``
``blocks.N.attn.qkv/proj.*``    ``backbone.layers.N.attn.qkv/proj.*``
``blocks.N.mlp.fc1/fc2.*``      ``backbone.layers.N.ffn.fc1/fc2.*``
``norm.*`` (map)                ``backbone.ln1.*``
``fc_norm.*`` (avg)             ``backbone.ln2.*`` (build with ``final_norm=False``)
``attn_pool.*`` (map)           ``backbone.attn_pool.*`` or, with ``map_head``,
                                ``head.pool.*`` (``MAPClsHead``)
``head.*``                      ``head.fc.*``
==============================  ==========================================

Load the result with ``ViTG(out_type='map')`` + ``LinearClsHead`` (``global_pool='map'``),
``ViTG(out_type='raw')`` + ``MAPClsHead`` (``map_head=True``) or
``ViTG(out_type='avg_featmap', final_norm=False)`` + ``LinearClsHead`` (``'avg'``).
Class / register tokens, layer scale, qk-norm, pre-norm and other timm options have no
ViTG counterpart and are rejected.
"""
import re
from collections import OrderedDict
from typing import Dict

import torch

RULES = [
    (r'^patch_embed\.proj\.(weight|bias)$', r'backbone.patch_embed.projection.\1'),
    (r'^pos_embed$', 'backbone.pos_embed'),
    (r'^blocks\.(\d+)\.norm([12])\.(weight|bias)$', r'backbone.layers.\1.ln\2.\3'),
    (r'^blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)$',
     r'backbone.layers.\1.attn.\2.\3'),
    (r'^blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$', r'backbone.layers.\1.ffn.\2.\3'),
    (r'^norm\.(weight|bias)$', r'backbone.ln1.\1'),
    (r'^fc_norm\.(weight|bias)$', r'backbone.ln2.\1'),
    (r'^head\.(weight|bias)$', r'head.fc.\1'),
]
ATTN_POOL = re.compile(r'^attn_pool\.(latent|(?:q|kv|proj|norm|mlp\.fc1|mlp\.fc2)\.'
                       r'(?:weight|bias))$')
REJECT_HINTS = {
    'cls_token': 'ViTG has no class token (build timm with class_token=False)',
    'reg_token': 'ViTG has no register tokens',
    'norm_pre': 'ViTG has no pre-norm (CLIP-style pre_norm=True)',
    '.ls1.': 'ViTG has no layer scale (init_values)',
    '.ls2.': 'ViTG has no layer scale (init_values)',
    'q_norm': 'ViTG has no qk-norm',
    'k_norm': 'ViTG has no qk-norm',
}


def convert_timm_vit(state: Dict[str, torch.Tensor],
                     map_head: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    """timm ``VisionTransformer`` state dict -> ``ImageClassifier`` with ``ViTG``.

    Raises ``KeyError`` listing every key that has no counterpart.
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    unknown = []
    for key, value in state.items():
        pool = ATTN_POOL.match(key)
        if pool:
            prefix = 'head.pool.' if map_head else 'backbone.attn_pool.'
            out[prefix + pool.group(1)] = value
            continue
        for pattern, repl in RULES:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            hint = next((h for k, h in REJECT_HINTS.items() if k in key), 'no rule')
            unknown.append(f'{key} ({hint})')
    if unknown:
        raise KeyError(f'{len(unknown)} timm keys have no ViTG counterpart: '
                       f'{unknown[:10]}')
    pos = out.get('backbone.pos_embed')
    if pos is not None and pos.ndim != 3:
        raise ValueError(f'pos_embed must be (1, h*w, C), got {tuple(pos.shape)}')
    return out
