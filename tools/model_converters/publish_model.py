"""Strip a training checkpoint of your own run down to its weights, for sharing.

mmengine training checkpoints also hold the optimizer, schedulers and a pickled
``message_hub``; weights-only loading (the default of ``init_cfg`` Pretrained and of
every converter here) refuses the latter. This keeps ``state_dict`` (and ``meta``'s
plain fields), saves ``OUT-<sha256[:8]>.pth`` as OpenMMLab's publish tools do, and
checks that the result loads with ``weights_only=True``.

Only run it on files you trust: reading the input needs full unpickling.

Usage: python tools/model_converters/publish_model.py IN OUT
"""
import argparse
import hashlib
from pathlib import Path

import torch

PLAIN_META = (int, float, str, bool, type(None))


def publish(src: str, dst: str) -> Path:
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    state = checkpoint.get('state_dict', checkpoint)
    meta = {k: v for k, v in checkpoint.get('meta', {}).items()
            if isinstance(v, PLAIN_META)}
    out = Path(dst).with_suffix('')
    tmp = out.with_name(out.name + '.tmp.pth')
    torch.save({'state_dict': state, 'meta': meta}, tmp)
    torch.load(tmp, map_location='cpu', weights_only=True)  # must load weights-only
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    final = out.with_name(f'{out.name}-{digest}.pth')
    tmp.rename(final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='training checkpoint of your own run')
    parser.add_argument('dst', help='output file name (a hash suffix is added)')
    args = parser.parse_args()
    print(f'published {publish(args.src, args.dst)}')


if __name__ == '__main__':
    main()
