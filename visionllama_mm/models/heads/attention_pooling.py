"""Classification heads that pool backbone tokens by attention (mmpretrain ``ClsHead``).

* :class:`AttentionPoolingClassifier`: AIM's attentive probe (arXiv 2401.08541).
* :class:`MAPClsHead`: the MAP head of ViT-G/14 (arXiv 2106.04560) on top of tokens,
  e.g. an attentive probe of a frozen trunk.

Input: the backbone's tuple whose **last** item is tokens ``(B, N, C)`` or a map
``(B, C, H, W)`` (flattened to ``H*W`` tokens). ``pre_logits`` is the pooled
``(B, C)`` descriptor, ``forward`` returns logits ``(B, num_classes)``.
"""
from typing import Optional, Sequence, Tuple, Union

from mmpretrain.models.heads import ClsHead
from torch import Tensor, nn

from ...registry import MODELS
from ..layers import AttentionPooling, MultiheadAttentionPooling

_CE = dict(type='CrossEntropyLoss', loss_weight=1.0)


def last_tokens(feats: Sequence[Tensor], in_channels: int, head: str) -> Tensor:
    """The last item of ``feats`` as tokens ``(B, N, C)``; errors name the shapes."""
    if not isinstance(feats, (tuple, list)) or not feats:
        raise TypeError(f'{head} expects a non-empty tuple of backbone outputs, got '
                        f'{type(feats).__name__}')
    x = feats[-1]
    if x.ndim == 4:
        x = x.flatten(2).transpose(1, 2)
    if x.ndim != 3:
        raise ValueError(f'{head} needs tokens (B, N, C) or a map (B, C, H, W) from the '
                         f"backbone (e.g. out_type='raw' or 'featmap'), got "
                         f'{tuple(x.shape)}')
    if x.shape[-1] != in_channels:
        raise ValueError(f'{head}: in_channels={in_channels} but the backbone gives '
                         f'{x.shape[-1]} channels')
    return x


class _TokenPoolingClsHead(ClsHead):
    """``fc(pool(tokens))``: the shared part of the two heads (each sets ``pool``)."""

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: dict = _CE,
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Tuple[Tensor]) -> Tensor:
        return self.pool(last_tokens(feats, self.in_channels, type(self).__name__))

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        return self.fc(self.pre_logits(feats))


@MODELS.register_module()
class AttentionPoolingClassifier(_TokenPoolingClsHead):
    """AIM's attentive probe: :class:`AttentionPooling` then a linear classifier.

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_: ``BatchNorm1d(affine=False)`` on the tokens,
    one learned query split into ``num_heads`` heads (the trunk's), bias-free k / v,
    no q / output projection, then ``fc``.

    Args:
        num_classes: classes. in_channels: token width ``C``.
        num_heads: attention heads (AIM: the trunk's heads).
        use_batch_norm: batch-norm the tokens before pooling.
        num_queries: learned queries (outputs averaged).
        qkv_bias: biases of k / v.
        **kwargs: ``loss`` / ``topk`` / ``cal_acc`` / ``init_cfg`` of mmpretrain's
            ``ClsHead`` (defaults: cross-entropy, top-1, no train accuracy).

    Shapes: tuple ending in ``(B, N, C)`` or ``(B, C, H, W)`` -> ``(B, num_classes)``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_heads: int,
                 use_batch_norm: bool = True,
                 num_queries: int = 1,
                 qkv_bias: bool = False,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.pool = AttentionPooling(in_channels, num_heads, num_queries, use_batch_norm,
                                     qkv_bias)


@MODELS.register_module()
class MAPClsHead(_TokenPoolingClsHead):
    """ViT-G/14's MAP head (:class:`MultiheadAttentionPooling`) and a linear classifier.

    `Scaling Vision Transformers <https://arxiv.org/abs/2106.04560>`_: a learned probe
    attends over the tokens, ``x + MLP(LN(x))``, first token, then ``fc``. Used for an
    attentive probe of a frozen trunk (``out_type='raw'``). ``pool.*`` has timm's
    ``attn_pool.*`` names and ``fc`` is timm's ``head``.

    Shapes: tuple ending in ``(B, N, C)`` or ``(B, C, H, W)`` -> ``(B, num_classes)``.

    Args:
        num_classes: classes. in_channels: token width ``C``.
        num_heads: attention heads of the pooling.
        feedforward_channels: MLP hidden width (defaults to ``4 * C``).
        qkv_bias: biases of q / kv. norm_cfg: the norm of the MAP head.
        **kwargs: ``loss`` / ``topk`` / ``cal_acc`` / ``init_cfg``, as
            :class:`AttentionPoolingClassifier`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_heads: int,
                 feedforward_channels: Optional[int] = None,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.pool = MultiheadAttentionPooling(
            in_channels,
            num_heads,
            feedforward_channels=feedforward_channels,
            qkv_bias=qkv_bias,
            norm_cfg=norm_cfg)
