"""Strip a training checkpoint down to its weights and ``dataset_meta``, for sharing.

Keeps ``state_dict`` and ``meta['dataset_meta']`` (so the inferencers show the run's
class names) and nothing else: no optimizer, schedulers, message hub, random states,
and no config text (which mmengine's inferencers would execute with ``model=None``).
Saves ``OUT-<sha256[:8]>.pth`` as OpenMMLab's publish tools do; the package's loaders
check that prefix against the file. The input is read weights-only (no pickled object
in it is ever executed) and its recorded tensor SHA-256s are verified: checkpoints
written with ``AtomicCheckpointHook`` / ``ReliableRunner`` load so; an old pickled
mmengine file is refused with the command that converts it
(``convert_pickled_checkpoint.py``).

Usage: python tools/model_converters/publish_model.py IN OUT
"""
import argparse

from visionllama_mm.errors import UserError
from visionllama_mm.fileio import publish_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='output file name (a hash suffix is added)')
    args = parser.parse_args()
    try:
        final = publish_checkpoint(args.src, args.dst)
    except (UserError, FileNotFoundError) as err:
        parser.exit(1, f'publish_model.py: error: {err}\n')
    print(f'published {final}')


if __name__ == '__main__':
    main()
