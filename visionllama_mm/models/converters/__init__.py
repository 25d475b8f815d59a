"""Key converters from the official releases' checkpoint layouts to this package's.

Each converter renames every key of a release state dict into the keys of this
package's models (``backbone.`` / ``neck.`` / ``head.`` prefixes, as an mmengine
checkpoint of the whole model), refuses unknown keys (nothing is dropped silently)
and only needs tensors: read the release files with
:func:`visionllama_mm.fileio.load_training_checkpoint` (weights-only). The command
line tools in ``tools/model_converters/`` and the release weights by name
(:mod:`visionllama_mm.models.weights`) use these functions.
"""
from .aim import convert_aim, merge_aim_head
from .common import unwrap
from .timm_vit import convert_timm_vit
from .visionllama import LAYOUTS, convert_visionllama, detect_layout

__all__ = [
    'unwrap', 'convert_aim', 'merge_aim_head', 'convert_timm_vit', 'convert_visionllama',
    'detect_layout', 'LAYOUTS'
]
