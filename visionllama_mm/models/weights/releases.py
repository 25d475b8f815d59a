"""The weights the authors published, by name: where each file is, the layout it is
converted from and the config whose model it fills.

Every file lives under :data:`RELEASE_BASE_URL` (Hugging Face); the environment
variable ``VLLAMA_WEIGHTS_BASE_URL``, when set, replaces that base for every file
(a mirror with the same paths, or a local server in the tests). The checksums are the
SHA-256 prefixes the releases list next to their files, where they list one.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

#: Where the releases publish their files; ``VLLAMA_WEIGHTS_BASE_URL`` replaces it.
RELEASE_BASE_URL = 'https://huggingface.co/'
VLLAMA = 'https://github.com/Meituan-AutoML/VisionLLaMA'
ML_AIM = 'https://github.com/apple/ml-aim'


@dataclass(frozen=True)
class ReleaseFile:
    """One published file: its path under the base URL and, where the release
    lists one, the first hex digits of its SHA-256."""
    path: str
    sha256_prefix: Optional[str] = None

    @property
    def url(self) -> str:
        """The official download URL."""
        return RELEASE_BASE_URL + self.path


@dataclass(frozen=True)
class ReleaseWeights:
    """Published weights under one name.

    Attributes:
        name: the name (``visionllama://NAME``, ``get_model(NAME)``).
        layout: the converter's source layout: ``'pyramid'``, ``'mae'`` (both
            :func:`~visionllama_mm.models.converters.convert_visionllama`) or
            ``'aim'`` (trunk + probe head, :func:`~visionllama_mm.models.converters.
            convert_aim`).
        files: the files, in the converter's order (AIM: trunk, then head).
        config: the config (repository-relative) whose whole model the converted
            weights fill ...
        model: ... with these overrides of its ``model`` (``Config.merge_from_dict``;
            e.g. another AIM size on the AIM-600M probe config).
        source: the page of the release that lists the files.
    """
    name: str
    layout: str
    files: Tuple[ReleaseFile, ...]
    config: str
    source: str
    model: Dict[str, Any] = field(default_factory=dict)


def _visionllama(layout: str, size: str, arch: str, epochs: int = 0) -> ReleaseWeights:
    """Weights of the official VisionLLaMA repository: Pyramid VisionLLaMA trained on
    ImageNet-1k (``layout='pyramid'``) or a plain VisionLLaMA MAE pretraining of
    ``epochs`` epochs (``layout='mae'``); ``size`` as in the name, ``arch`` as in
    the config name."""
    if layout == 'pyramid':
        name = f'pyramid-visionllama-{size}_in1k'
        path = f'mtgv/Pyramid-VisionLLaMA-{size.upper()}/resolve/main/best_checkpoint.pth'
        config = f'pyramid_visionllama/pyramid-visionllama-{arch}_8xb128-300e_in1k.py'
        page = 'ImageNet1k_SFT.md'
    else:
        name = f'mae-visionllama-{size}-{epochs}e_in1k'
        path = f'mtgv/VisionLLaMA-{arch.capitalize()}-MAE/resolve/main/epoch_{epochs}.pth'
        config = (f'mae_visionllama/mae_visionllama-{arch}-p16_8xb512-amp-coslr-'
                  f'{epochs}e_in1k.py')
        page = 'PRETRAIN.md'
    return ReleaseWeights(
        name=name,
        layout=layout,
        files=(ReleaseFile(path), ),
        config=f'configs/{config}',
        source=f'{VLLAMA}/blob/main/{page}')


#: The AIM files (aim-v1/README.md of apple/ml-aim): file stem, SHA-256 prefixes
#: (trunk, head of the best layers, head of the last layers), the first of the six
#: best probe layers, and (width, blocks, heads).
_AIM_FILES = {
    '600m': ('aim_600m_2bimgs', '0d6f6b8f', 'ebd45c05', '5ce5a341', 14, (1536, 24, 12)),
    '1b': ('aim_1b_5bimgs', 'd254ecd3', 'f1ed7852', 'db3be2ad', 12, (2048, 24, 16)),
    '3b': ('aim_3b_5bimgs', '8475ce4e', 'ad380e16', '5c057b30', 12, (3072, 24, 24)),
    '7b': ('aim_7b_5bimgs', '184ed94c', '73ecd732', '1e5c99ba', 14, (4096, 32, 32)),
}
AIM_PROBE_CONFIG = 'configs/aim/aim-600m-p14_attentive-probe_8xb128_in1k.py'


def _aim(size: str, layers: str) -> ReleaseWeights:
    stem, trunk, best, last, first_best, (width, blocks, heads) = _AIM_FILES[size]
    head = best if layers == 'best' else last
    first = first_best if layers == 'best' else blocks - 6
    model = {}
    if size != '600m' or layers != 'best':  # the probe config is AIM-600M, best layers
        backbone = dict(arch=size, out_indices=list(range(first, first + 6)))
        if size != '600m':
            backbone.update(frozen_stages=blocks)
        model = dict(backbone=backbone, head=dict(in_channels=width, num_heads=heads))
    return ReleaseWeights(
        name=f'aim-{size}_attnprobe-{layers}_in1k',
        layout='aim',
        files=(ReleaseFile(f'apple/AIM/resolve/main/{stem}_attnprobe_backbone.pth',
                           trunk),
               ReleaseFile(
                   f'apple/AIM/resolve/main/{stem}_attnprobe_head_{layers}_layers.pth',
                   head)),
        config=AIM_PROBE_CONFIG,
        source=f'{ML_AIM}/blob/main/aim-v1/README.md',
        model=model)


#: Every published set of weights, by name.
RELEASES: Dict[str, ReleaseWeights] = {
    w.name: w
    for w in (
        _visionllama('pyramid', 's', 'small'),
        _visionllama('pyramid', 'b', 'base'),
        _visionllama('pyramid', 'l', 'large'),
        _visionllama('mae', 'b', 'base', epochs=800),
        _visionllama('mae', 'b', 'base', epochs=1600),
        _visionllama('mae', 'l', 'large', epochs=800),
        *(_aim(size, layers) for size in _AIM_FILES for layers in ('best', 'last')),
    )
}
