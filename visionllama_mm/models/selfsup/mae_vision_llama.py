"""VisionLLaMA encoder for mmpretrain's ``MAE`` algorithm (arXiv 2403.00522, Sec. 4.3)."""
from typing import Optional, Tuple, Union

import torch
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.selfsup.mae import MAEViT
from torch import Tensor

from ...errors import ModelArgumentError
from ...registry import MODELS
from ..backbones.vision_llama import VisionLLaMA
from ..layers import grid_coords
from ..utils import check_rate, passed_on, run_layer


@MODELS.register_module()
class MAEVisionLLaMA(VisionLLaMA):
    """Masked-autoencoder encoder with 2D RoPE, a drop-in for mmpretrain's ``MAEViT``.

    Used with mmpretrain's ``MAE``, ``MAEPretrainDecoder`` and
    ``MAEPretrainHead(norm_pix=True)``. :meth:`random_masking` shuffles the patch
    tokens **and their RoPE coordinates** with the same per-sample ``ids_keep``, so each
    visible token is rotated by its true position (a table per sample, not a shared
    one). ``forward(x, mask=True)`` returns ``(latent, mask, ids_restore)`` like
    ``MAEViT``: ``latent`` ``(B, 1 + L_keep, C)`` with the class token first (the
    standard decoder expects it), ``mask`` ``(B, L)`` (1 = removed), ``ids_restore``
    ``(B, L)``. ``mask=None``/``False`` is the plain :class:`VisionLLaMA` forward.

    Args:
        arch: as :class:`VisionLLaMA`; defaults to ``'b-mae'`` (the MAE release).
        mask_ratio: fraction of patches removed. Defaults to 0.75.
        cls_token_in_blocks: ``False`` (default, the release): the blocks see only the
            visible patches and the class token is prepended before the final norm;
            ``True``: the class token goes through the blocks at its RoPE coordinate.
        out_type: output of the unmasked forward; defaults to ``'raw'`` as MAEViT.
        **kwargs: the other :class:`VisionLLaMA` arguments (with its defaults).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b-mae',
                 mask_ratio: float = 0.75,
                 cls_token_in_blocks: bool = False,
                 out_type: str = 'raw',
                 **kwargs) -> None:
        if not kwargs.get('with_cls_token', True):
            raise ModelArgumentError('MAEVisionLLaMA needs with_cls_token=True: '
                                     'MAEPretrainDecoder treats the first token as the '
                                     'class token')
        check_rate('mask_ratio', mask_ratio, '0.75')
        super().__init__(**passed_on(MAEVisionLLaMA, locals()))
        self.mask_ratio = mask_ratio
        self.cls_token_in_blocks = cls_token_in_blocks

    def init_weights(self) -> None:
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return
        weight = self.patch_embed.projection.weight.data  # as MAEViT
        torch.nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
        trunc_normal_(self.cls_token, std=.02)

    def random_masking(self,
                       x: Tensor,
                       mask_ratio: float = 0.75,
                       coords: Optional[Tensor] = None
                       ) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """mmpretrain's ``MAEViT.random_masking`` (same draws and outputs) plus the
        RoPE coordinates ``coords`` ``(1 or B, L, 2)`` of the kept tokens.

        Returns:
            ``(x_masked, mask, ids_restore, coords_kept)``.
        """
        x_masked, mask, ids_restore = MAEViT.random_masking(self, x, mask_ratio)
        if coords is None:
            return x_masked, mask, ids_restore, None
        ids_keep = torch.argsort(ids_restore, dim=1)[:, :x_masked.shape[1]]
        coords_kept = torch.gather(
            coords.expand(x.shape[0], -1, -1), 1,
            ids_keep.unsqueeze(-1).expand(-1, -1, 2))
        return x_masked, mask, ids_restore, coords_kept

    def forward(self, x: Tensor, mask: Optional[bool] = True):
        if mask is None or mask is False:
            return super().forward(x)
        batch = x.shape[0]
        tokens, grid_hw = self.patch_embed(x)
        coords = grid_coords(*grid_hw, tokens.device)
        tokens, mask, ids_restore, coords = self.random_masking(
            tokens, self.mask_ratio, coords)
        cls = self.cls_token.expand(batch, -1, -1)
        if self.cls_token_in_blocks:
            cls_coord = torch.tensor(self.cls_coord(grid_hw), device=tokens.device)
            coords = torch.cat((cls_coord.expand(batch, 1, 2), coords), dim=1)
            tokens = torch.cat((cls, tokens), dim=1)
        tokens = self.drop_after_pos(tokens)
        rope = self.rope(coords, grid_hw)  # per sample: (B, N, Hc)
        for layer in self.layers:
            tokens = run_layer(layer, tokens, self.with_cp and self.training, rope=rope)
        if not self.cls_token_in_blocks:
            tokens = torch.cat((cls, tokens), dim=1)
        if self.final_norm:
            tokens = self.ln1(tokens)
        return tokens, mask, ids_restore
