"""Download, convert and cache the published weights called NAME.

The files are downloaded into ``$VLLAMA_CACHE/checkpoints`` (default
``~/.cache/visionllama_mm/checkpoints``) with a progress bar, checked, read
weights-only, converted and kept as ``NAME.pth``; a second run uses the cached file.
``VLLAMA_WEIGHTS_BASE_URL`` replaces the base URL of every release file (a mirror).
Without network, download the release files by other means and pass them with
``--from-file`` (in the release's order: AIM trunk, then head). The names:
``--list``, and docs/en/model_zoo.md.

Usage: python tools/model_converters/fetch_weights.py NAME [--out FILE]
       [--from-file FILE [FILE ...]]
"""
import argparse
import sys

from visionllama_mm.errors import UserError
from visionllama_mm.models.weights import RELEASES, fetch_weights, release_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'name', nargs='?', help='weights name, e.g. '
        'pyramid-visionllama-s_in1k')
    parser.add_argument('--out', help='also write the converted weights here')
    parser.add_argument(
        '--from-file',
        nargs='+',
        metavar='FILE',
        help='the release file(s), downloaded by other means, instead of downloading')
    parser.add_argument(
        '--list', action='store_true', help='list the names and their files')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args()
    if args.list:
        for name, release in RELEASES.items():
            print(name, ' '.join(release_url(f) for f in release.files))
        return
    if not args.name:
        parser.error('give a weights NAME (or --list)')
    try:
        path = fetch_weights(
            args.name,
            out=args.out,
            from_files=args.from_file,
            progress=not args.no_progress)
    except (UserError, ValueError, FileNotFoundError) as err:
        sys.exit(f'fetch_weights.py: error: {err}')
    print(path if args.out is None else f'{path} (copy: {args.out})')


if __name__ == '__main__':
    main()
