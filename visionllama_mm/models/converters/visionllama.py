"""Official VisionLLaMA checkpoints (plain and pyramid) to visionllama_mm keys.

Three release layouts (the official VisionLLaMA repository):

- ``deit`` (supervised 's'/'b'/'l', timm-style keys): ``patch_embed.proj``,
  ``blocks.N.{norm1,attn.qkv,attn.proj,norm2,gamma_1,gamma_2}``,
  ``blocks.N.mlp.{c_fc1,c_fc2,c_proj}`` (SiLU on ``c_fc1``), ``norm``, ``head``.
  ``c_fc1``/``c_fc2`` are stacked into ``ffn.w12`` (SiLU half first, as mmpretrain's
  ``SwiGLUFFN`` expects), ``c_proj`` becomes ``ffn.w3``. ``norm`` becomes ``ln1`` for a
  class-token model and ``ln2`` for a GAP model (use ``final_norm=False,
  out_type='avg_featmap'`` there).
- ``pyramid`` (``PyramidVisionLLaMA``, deit-style ImageNet and the mmseg/mmdet
  releases): ``patch_embeds.S.{proj,norm}``, ``blocks.S.N.*`` with LSA ``attn.qkv`` and
  GSA ``attn.{q,kv,sr,norm}``, the same FFN and layer-scale keys as ``deit``,
  ``norm_list.S`` (seg/det) and ``norm`` + ``head`` (ImageNet). Load the result into
  ``PyramidVisionLLaMA(gsa_key_coords='official', lsa_mask_padding=False)`` (with
  AS2DRoPE also ``as2d_scale='height'``) to run it exactly as released (see the class
  docstring).
- ``mae`` (the mmpretrain fork, 'b-mae'/'l-mae'): already mmpretrain-style
  (``layers.N.ln1``, ``attn.qkv``, ``ffn.w12``, ``ffn.w3``, ``ln1``); the unused
  ``pos_embed`` is dropped, and ``neck``/``head`` of an MAE checkpoint are dropped
  unless ``keep_selfsup_heads`` (then they pass unchanged: the fork's decoder is
  mmpretrain's ``MAEPretrainDecoder``).

The result has ``backbone.`` keys (and ``head.fc.`` for a classifier head): saved as
``{'state_dict': ...}`` it is a classifier's ``load_from`` or a backbone's
``init_cfg=dict(type='Pretrained', checkpoint=FILE, prefix='backbone.')``. Unknown keys
are an error, never silently dropped.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from .common import unwrap

BLOCK = r'^blocks\.(\d+(?:\.\d+)?)\.'  # plain: blocks.N, pyramid: blocks.S.N
BLOCK_RULES = [
    (BLOCK + r'norm1\.(weight|bias)$', r'layers.\1.ln1.\2'),
    (BLOCK + r'norm2\.(weight|bias)$', r'layers.\1.ln2.\2'),
    (BLOCK + r'attn\.(qkv|proj|q|kv|sr|norm)\.(weight|bias)$', r'layers.\1.attn.\2.\3'),
    (BLOCK + r'gamma_1$', r'layers.\1.gamma1.weight'),
    (BLOCK + r'gamma_2$', r'layers.\1.gamma2.weight'),
    (BLOCK + r'mlp\.c_proj\.(weight|bias)$', r'layers.\1.ffn.w3.\2'),
]
DEIT_RULES = [
    (r'^cls_token$', 'cls_token'),
    (r'^patch_embed\.proj\.(weight|bias)$', r'patch_embed.projection.\1'),
] + BLOCK_RULES
PYRAMID_RULES = [
    (r'^patch_embeds\.(\d+)\.proj\.(weight|bias)$', r'patch_embeds.\1.projection.\2'),
    (r'^patch_embeds\.(\d+)\.norm\.(weight|bias)$', r'patch_embeds.\1.norm.\2'),
    (r'^norm_list\.(\d+)\.(weight|bias)$', r'norm_list.\1.\2'),
] + BLOCK_RULES
MAE_DROP = re.compile(r'^(pos_embed)$')
#: The release layouts :func:`convert_visionllama` reads.
LAYOUTS = ('deit', 'pyramid', 'mae')


def detect_layout(state: Dict) -> str:
    if any(k.startswith('patch_embeds.') for k in state):
        return 'pyramid'
    if any(k.startswith('blocks.') for k in state):
        return 'deit'
    if any(re.match(r'^(backbone\.)?layers\.\d+\.ffn\.w12', k) for k in state):
        return 'mae'
    raise ValueError('cannot tell the layout: expected deit keys (blocks.N.*), pyramid '
                     'keys (patch_embeds.S.*) or mmpretrain-fork keys '
                     '(layers.N.ffn.w12); pass --layout')


def convert_blocks(state: Dict, rules: list,
                   norm_target: str) -> 'OrderedDict[str, torch.Tensor]':
    """Rename by ``rules``; stack ``c_fc1``/``c_fc2`` into ``ffn.w12``; map the final
    ``norm`` to ``norm_target`` and ``head`` to ``head.fc``."""
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    unknown = []
    for key, value in state.items():
        fc = re.match(BLOCK + r'mlp\.c_fc([12])\.(weight|bias)$', key)
        if fc:
            if fc.group(2) == '1':
                other = state[key.replace('c_fc1', 'c_fc2')]
                out[f'backbone.layers.{fc.group(1)}.ffn.w12.{fc.group(3)}'] = \
                    torch.cat((value, other), dim=0)
            continue
        norm = re.match(r'^norm\.(weight|bias)$', key)
        head = re.match(r'^head\.(weight|bias)$', key)
        if norm:
            out[f'backbone.{norm_target}.{norm.group(1)}'] = value
        elif head:
            out[f'head.fc.{head.group(1)}'] = value
        else:
            for pattern, repl in rules:
                if re.match(pattern, key):
                    out['backbone.' + re.sub(pattern, repl, key)] = value
                    break
            else:
                unknown.append(key)
    if unknown:
        raise KeyError(f'unknown keys for this layout (absolute position embeddings '
                       f'are not part of VisionLLaMA): {unknown[:10]}')
    return out


def convert_deit(state: Dict) -> 'OrderedDict[str, torch.Tensor]':
    return convert_blocks(state, DEIT_RULES, 'ln1' if 'cls_token' in state else 'ln2')


def convert_pyramid(state: Dict) -> 'OrderedDict[str, torch.Tensor]':
    return convert_blocks(state, PYRAMID_RULES, 'norm')


def convert_mae(state: Dict,
                keep_selfsup_heads: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    has_prefix = any(k.startswith('backbone.') for k in state)
    for key, value in state.items():
        if has_prefix and not key.startswith('backbone.'):
            if keep_selfsup_heads:
                out[key] = value
            continue
        name = key[len('backbone.'):] if has_prefix else key
        if MAE_DROP.match(name):
            continue
        if not re.match(
                r'^(cls_token|patch_embed\.projection\.|layers\.\d+\.'
                r'(ln1|ln2|attn\.qkv|attn\.proj|ffn\.w12|ffn\.w3|ffn\.gamma2|'
                r'attn\.gamma1)\.|ln1\.|ln2\.)', name):
            raise KeyError(f'unknown mae-layout key {key!r}')
        # mmpretrain keeps layer scales inside attn / ffn; our block holds both
        name = name.replace('.attn.gamma1.',
                            '.gamma1.').replace('.ffn.gamma2.', '.gamma2.')
        out['backbone.' + name] = value
    return out


def convert_visionllama(
        checkpoint: Dict,
        layout: Optional[str] = None,
        keep_selfsup_heads: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    """The converted state dict (``backbone.`` / ``head.fc.`` keys) of a release
    checkpoint (or its state dict) in ``layout`` (detected from the keys if None).

    Raises:
        KeyError: a key that has no counterpart in the layout.
        ValueError: an unknown layout, or one that cannot be detected.
    """
    state = unwrap(checkpoint)
    layout = layout or detect_layout(state)
    if layout == 'deit':
        return convert_deit(state)
    if layout == 'pyramid':
        return convert_pyramid(state)
    if layout == 'mae':
        return convert_mae(state, keep_selfsup_heads)
    raise ValueError(f'layout must be "deit", "pyramid" or "mae", got {layout!r}')
