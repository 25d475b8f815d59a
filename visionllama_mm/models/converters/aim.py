"""apple/ml-aim (AIM v1) torch checkpoints to visionllama_mm keys.

Source layout (``aim.v1.torch.models``; the released ``*_attnprobe_backbone.pth`` and
``*_attnprobe_head_{best,last}_layers.pth`` files, or their merge):

==============================================  ==========================================
ml-aim                                          visionllama_mm
==============================================  ==========================================
``preprocessor.patchifier.proj.{weight,bias}``  ``backbone.patch_embed.projection.*``
``preprocessor.patchifier.norm.{weight,bias}``  ``backbone.patch_embed.norm.*``
``trunk.blocks.N.norm_1.{weight,bias}``         ``backbone.layers.N.ln1.*``
``trunk.blocks.N.attn.qkv.weight``              ``backbone.layers.N.attn.qkv.weight``
``trunk.blocks.N.attn.proj.weight``             ``backbone.layers.N.attn.proj.weight``
``trunk.blocks.N.norm_2.{weight,bias}``         ``backbone.layers.N.ln2.*``
``trunk.blocks.N.mlp.fc{1,2}.weight``           ``backbone.layers.N.ffn.fc{1,2}.weight``
``trunk.post_trunk_norm.{weight,bias}``         ``backbone.ln1.*``
``head.{k,v}.weight``, ``head.cls_token``       ``head.pool.*`` (attention pooling)
``head.bn.{running_mean,running_var,...}``      ``head.pool.bn.*``
``head.linear.weight``                          ``head.fc.weight``
==============================================  ==========================================

The sin-cos position embedding has no weights. The release's probe classifier has no
bias; ``AttentionPoolingClassifier.fc`` has one, written as zeros (same logits).
Unknown keys (e.g. a learned ``preprocessor.pos_embed``, biases in qkv / proj / MLP)
and incomplete blocks are errors, never dropped. Use the result with
``AIM(arch=..., out_type='avg_layers', out_indices=<the release's probe layers>)`` and
``AttentionPoolingClassifier`` (the ``ImageClassifier`` of
``configs/aim/aim-600m-p14_attentive-probe_8xb128_in1k.py``), or as a backbone's
``init_cfg=dict(type='Pretrained', checkpoint=FILE, prefix='backbone.')``. Probe layers
of the release: 600M and 7B blocks 14-19, 1B and 3B blocks 12-17 ("best"); the last
six blocks ("last").
"""
import re
from collections import OrderedDict
from typing import Dict

import torch

from .common import unwrap

BLOCK = r'^trunk\.blocks\.(\d+)\.'
RULES = [
    (r'^preprocessor\.patchifier\.proj\.(weight|bias)$',
     r'backbone.patch_embed.projection.\1'),
    (r'^preprocessor\.patchifier\.norm\.(weight|bias)$', r'backbone.patch_embed.norm.\1'),
    (BLOCK + r'norm_1\.(weight|bias)$', r'backbone.layers.\1.ln1.\2'),
    (BLOCK + r'norm_2\.(weight|bias)$', r'backbone.layers.\1.ln2.\2'),
    (BLOCK + r'attn\.(qkv|proj)\.weight$', r'backbone.layers.\1.attn.\2.weight'),
    (BLOCK + r'mlp\.(fc1|fc2)\.weight$', r'backbone.layers.\1.ffn.\2.weight'),
    (r'^trunk\.post_trunk_norm\.(weight|bias)$', r'backbone.ln1.\1'),
    (r'^head\.(k|v)\.(weight|bias)$', r'head.pool.\1.\2'),
    (r'^head\.cls_token$', 'head.pool.cls_token'),
    (r'^head\.bn\.(running_mean|running_var|num_batches_tracked)$', r'head.pool.bn.\1'),
    (r'^head\.linear\.(weight|bias)$', r'head.fc.\1'),
]
BLOCK_KEYS = [
    'ln1.weight', 'ln1.bias', 'attn.qkv.weight', 'attn.proj.weight', 'ln2.weight',
    'ln2.bias', 'ffn.fc1.weight', 'ffn.fc2.weight'
]
STEM_KEYS = [
    'backbone.patch_embed.projection.weight', 'backbone.patch_embed.projection.bias',
    'backbone.patch_embed.norm.weight', 'backbone.patch_embed.norm.bias'
]


def convert_aim(state: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename every key by :data:`RULES`.

    Raises:
        KeyError: unknown keys, or a trunk with incomplete blocks.
    """
    state = unwrap(state)
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    unknown = []
    for key, value in state.items():
        for pattern, repl in RULES:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'unknown ml-aim keys (AIM has no biases in attention/MLP and a '
                       f'fixed sin-cos position embedding): {unknown[:10]}')
    blocks = sorted({
        int(m.group(1))
        for k in out
        for m in [re.match(r'^backbone\.layers\.(\d+)\.', k)] if m
    })
    if blocks:
        expected = STEM_KEYS + [
            f'backbone.layers.{i}.{k}' for i in range(max(blocks) + 1) for k in BLOCK_KEYS
        ]
        missing = [k for k in expected if k not in out]
        if missing:
            raise KeyError(
                f'incomplete ml-aim trunk: missing the sources of {missing[:10]}'
                f' ({len(missing)} in all)')
    elif not any(k.startswith('head.') for k in out):
        raise KeyError('no ml-aim key found (expected preprocessor.*, trunk.*, head.*)')
    if 'head.fc.weight' in out and 'head.fc.bias' not in out:
        weight = out['head.fc.weight']
        out['head.fc.bias'] = weight.new_zeros(weight.shape[0])
    return out


def merge_aim_head(backbone: Dict[str, torch.Tensor],
                   head: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """One ml-aim state dict of a trunk file and a probe-head file (as the release's
    ``merge_state_dicts``).

    Raises:
        KeyError: the two files share keys.
    """
    backbone, head = unwrap(backbone), unwrap(head)
    overlap = sorted(set(backbone) & set(head))
    if overlap:
        raise KeyError(f'backbone and head files share keys {overlap[:5]}')
    return {**backbone, **head}
