"""Convert a pickled mmengine checkpoint you trust into a weights-only file.

mmengine's own ``CheckpointHook`` (and any run without ``AtomicCheckpointHook``)
writes ``HistoryBuffer`` objects and numpy values with pickle; torch >= 2.6 and every
tool of this package refuse such files, because loading them fully runs whatever
code they contain. This tool is the one explicit exception: it fully unpickles a
**local** file, but only with ``--trust-pickled-file``, and writes the same checkpoint
in the weights-only form ``AtomicCheckpointHook`` writes (numpy values and the message
hub encoded as tensors), so ``--resume``, ``load_from``, ``init_model`` and the
inferencers read it. The output is checked to load with ``weights_only=True`` and
records the SHA-256 of its tensors.

Only run it on files you wrote yourself or otherwise trust. The VisionLLaMA release's
training checkpoints do not need it: ``fetch_weights.py`` and ``visionllama2mm.py``
read them weights-only (``visionllama_mm.fileio.load_training_checkpoint``).

Usage:
    python tools/model_converters/convert_pickled_checkpoint.py IN OUT \
        --trust-pickled-file
"""
import argparse
import os.path as osp

import torch

from visionllama_mm.fileio import encode_in_place, save_checkpoint_file


def convert(src: str, dst: str) -> None:
    if '://' in src or not osp.isfile(src):
        raise FileNotFoundError(f'{src} is not a local file (only local files are '
                                'converted)')
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} holds a {type(checkpoint).__name__}, not a checkpoint '
                         'dict')
    encode_in_place(checkpoint)
    save_checkpoint_file(checkpoint, dst)  # atomic, checked to load weights-only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='pickled checkpoint (local file you trust)')
    parser.add_argument('dst', help='weights-only output file')
    parser.add_argument(
        '--trust-pickled-file',
        action='store_true',
        help='confirm that SRC may be fully unpickled: this runs any '
        'code it contains')
    args = parser.parse_args()
    if not args.trust_pickled_file:
        parser.error('reading SRC fully unpickles it, which runs any code it contains; '
                     'pass --trust-pickled-file if you wrote it yourself or trust it')
    convert(args.src, args.dst)
    print(f'converted {args.src} -> {args.dst} (loads with weights_only=True)')


if __name__ == '__main__':
    main()
