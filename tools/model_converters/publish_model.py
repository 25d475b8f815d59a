"""Strip a training checkpoint down to its weights and ``meta``, for sharing.

Keeps ``state_dict`` and ``meta`` (with ``dataset_meta``, so the inferencers show the
run's class names), drops the optimizer, schedulers, message hub and random states,
and saves ``OUT-<sha256[:8]>.pth`` as OpenMMLab's publish tools do. The input is read
weights-only (no pickled object in it is ever executed): checkpoints written with
``AtomicCheckpointHook`` / ``ReliableRunner`` load so; an old pickled mmengine file
is refused with the command that converts it (``convert_pickled_checkpoint.py``).

Usage: python tools/model_converters/publish_model.py IN OUT
"""
import argparse
import hashlib
from pathlib import Path

import torch

from visionllama_mm.engine import load_checkpoint_file


def publish(src: str, dst: str) -> Path:
    checkpoint = load_checkpoint_file(src)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} holds a {type(checkpoint).__name__}, not a checkpoint '
                         'dict with a state_dict')
    state = checkpoint.get('state_dict', checkpoint)
    out = Path(dst).with_suffix('')
    tmp = out.with_name(out.name + '.tmp.pth')
    torch.save({'state_dict': state, 'meta': checkpoint.get('meta', {})}, tmp)
    load_checkpoint_file(str(tmp), mmap=True)  # must load weights-only
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    final = out.with_name(f'{out.name}-{digest}.pth')
    tmp.rename(final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='output file name (a hash suffix is added)')
    args = parser.parse_args()
    print(f'published {publish(args.src, args.dst)}')


if __name__ == '__main__':
    main()
