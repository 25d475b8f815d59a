# The one source of the parameters of our backbones that get no weight decay, as
# `paramwise_cfg.custom_keys` sets (a key matches a substring of the parameter name):
#   norms       -- block norms `ln1` / `ln2` (also the backbones' final norms), and
#                  every name with `norm`: the pyramid's `norm` / `norm_list.*`,
#                  `patch_embed.norm` / `patch_embeds.*.norm`, MAP's `attn_pool.norm`
#   layer_scale -- `gamma1.weight` / `gamma2.weight` (`layers.N.`, pyramid `layers.S.N.`)
#   cls_token, mask_token (MAE decoder), pos_embed (ViTG), map_latent (`attn_pool.latent`)
# A config lists this file in `_base_` and merges the sets it needs, e.g.
#   paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.norms,
#                                   **_base_.no_weight_decay.layer_scale})
# Release-exact recipes take only what the release exempts (the pyramid ADE20K / COCO
# releases decay the gammas; DeiT-III-style ones exempt 1-D tensors by flat_decay_mult=0
# and add only the class token). Mind the merge: a child's `custom_keys` is added to the
# base's (a key cannot be dropped that way), while `_delete_=True` on `paramwise_cfg`
# drops everything the bases set there, these keys included.
no_weight_decay = dict(
    norms={
        'norm': dict(decay_mult=0.0),
        '.ln1': dict(decay_mult=0.0),
        '.ln2': dict(decay_mult=0.0),
    },
    layer_scale={'.gamma': dict(decay_mult=0.0)},
    cls_token={'.cls_token': dict(decay_mult=0.0)},
    mask_token={'.mask_token': dict(decay_mult=0.0)},
    pos_embed={'.pos_embed': dict(decay_mult=0.0)},
    map_latent={'.latent': dict(decay_mult=0.0)},
)
