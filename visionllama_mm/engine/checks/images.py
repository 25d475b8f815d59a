"""Image and label-map files measured from their headers (no pixel is decoded).

:func:`read_header` opens a file lazily with PIL (``Image.open`` parses the header
only) and returns its size *as the loaders decode it* (mmcv's ``imfrombytes`` applies
the EXIF orientation, so a JPEG tagged "rotate 90°" decodes with width and height
swapped) and its PIL mode. The checks built on it:

- :func:`check_image_sizes`: an image with more pixels than ``max_pixels`` is an
  error naming it (decoding it would allocate ``3 * pixels`` bytes per copy, and
  mmcv's loader fails without naming the file); images far larger than the median of
  their dataset (``outlier_factor`` times its area) are a warning naming them (one
  512 x 300 image among 32 px images made its batch 100x slower without a word);
- :func:`check_declared_sizes`: the ``width`` / ``height`` an annotation file declares
  (COCO ``images``, mmdet's data infos) against the file; a difference is an error
  naming the file and the image id;
- :func:`check_label_map_values`: a label map whose values do not survive the
  ``uint8`` cast of mmseg's ``LoadAnnotations`` (a 16-bit PNG holding 258 trains on
  class 2) is an error naming the file.
"""
from contextlib import contextmanager
from statistics import median
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from ...errors import DataError, describe_ids

__all__ = [
    'ImageHeader', 'read_header', 'read_headers', 'check_image_sizes',
    'check_declared_sizes', 'check_label_map_values', 'DEFAULT_MAX_PIXELS',
    'OUTLIER_FACTOR'
]

#: The largest image (pixels) the checks accept by default: PIL's own
#: decompression-bomb limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``, about 13400 x 13400),
#: beyond which PIL refuses to decode a file at all.
DEFAULT_MAX_PIXELS = 2 * 89_478_485
#: An image with more than this many times the median area of its dataset is reported.
OUTLIER_FACTOR = 16.0
EXIF_ORIENTATION = 0x0112
#: PIL modes whose values can exceed the ``uint8`` mmseg casts label maps to.
WIDE_MODES = ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F')


class ImageHeader(NamedTuple):
    """Size of a file as decoded (EXIF orientation applied) and its PIL mode."""
    width: int
    height: int
    mode: str
    stored: Tuple[int, int]  # (width, height) before the EXIF orientation

    @property
    def pixels(self) -> int:
        return self.width * self.height


@contextmanager
def _no_bomb_check() -> Iterator[None]:
    """Let ``Image.open`` parse the header of any size: PIL's decompression-bomb
    check (a warning, or an error above twice its limit, without the file name)
    runs in ``Image.open`` itself; the size is judged here instead."""
    from PIL import Image
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_header(path: str) -> Optional[ImageHeader]:
    """The header of ``path`` (see the module docstring); None for a remote path or a
    format PIL cannot read (mmcv may still decode it: left unchecked)."""
    from PIL import Image
    if '://' in str(path):
        return None
    try:
        with _no_bomb_check(), Image.open(path) as image:
            stored = image.size
            turned = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
            mode = image.mode
    except (OSError, ValueError, SyntaxError):  # PIL reports bad headers as these
        return None
    width, height = stored[::-1] if turned else stored
    return ImageHeader(width, height, mode, stored)


def read_headers(paths: Iterable[str]) -> Dict[str, ImageHeader]:
    """:func:`read_header` of each distinct path that PIL can read."""
    headers = {}
    for path in dict.fromkeys(paths):
        header = read_header(path)
        if header is not None:
            headers[path] = header
    return headers


def _shown(items: List[str], limit: int = 5) -> str:
    more = f' and {len(items) - limit} more' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def check_image_sizes(headers: Dict[str, ImageHeader],
                      max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                      outlier_factor: Optional[float] = OUTLIER_FACTOR,
                      what: str = 'image') -> List[str]:
    """Refuse images above ``max_pixels`` (None: no limit); return a warning naming
    the images whose area is over ``outlier_factor`` times the median area of
    ``headers`` (None: no warning).

    Raises:
        DataError: naming the too-large files, their size and the fix.
    """
    if max_pixels is not None:
        large = [(path, h) for path, h in headers.items() if h.pixels > max_pixels]
        if large:
            path, h = large[0]
            listed = _shown([f'{p} ({x.width}x{x.height})' for p, x in large])
            raise DataError(
                f'{len(large)} {what} files are too large to decode: {listed}. '
                f'{path} has {h.pixels:,} pixels ({3 * h.pixels / 2**30:.1f} GiB per '
                f'decoded RGB copy), over max_pixels={max_pixels:,} (PIL\'s '
                'decompression-bomb limit by default). Resize or tile such images, '
                'or raise DataCheckHook(max_image_pixels=...) if they are meant.')
    if not outlier_factor or len(headers) < 2:
        return []
    typical = median(h.pixels for h in headers.values())
    big = sorted(((h.pixels, path, h)
                  for path, h in headers.items() if h.pixels > outlier_factor * typical),
                 reverse=True)
    if not big:
        return []
    listed = _shown([f'{path} ({h.width}x{h.height})' for _, path, h in big])
    return [
        f'{len(big)} {what} files are over {outlier_factor:g}x the median area of '
        f'their dataset ({typical:,.0f} pixels): {listed}. A batch holding one is '
        'padded to its size (far slower and larger than the rest) unless the '
        'pipeline resizes it; check that they are meant.'
    ]


def check_declared_sizes(declared: Iterable[Tuple[object, str, object, object]],
                         headers: Dict[str, ImageHeader], source: str) -> None:
    """``(image id, file, width, height)`` as an annotation file declares them
    against the headers of the files.

    Raises:
        DataError: naming the file, the image ids and both sizes.
    """
    wrong = []
    for image_id, path, width, height in declared:
        header = headers.get(path)
        if header is not None and (width, height) != (header.width, header.height):
            wrong.append((image_id, path, width, height, header))
    if not wrong:
        return
    image_id, path, width, height, header = wrong[0]
    exif = ''
    if (width, height) == header.stored:
        exif = (f' (it is stored {header.stored[0]}x{header.stored[1]} with an EXIF '
                'orientation the loader applies, turning it by 90°)')
    raise DataError(
        f'{source}: {len(wrong)} images are declared with another size than their '
        f'file, image {describe_ids([w[0] for w in wrong])}; e.g. image id '
        f'{image_id} is declared {width}x{height} (width x height) but its file '
        f'{path} is {header.width}x{header.height}{exif}. Boxes and masks are '
        'placed by the declared size: fix the width / height of these images in the '
        'annotation file.')


def check_label_map_values(path: str, header: ImageHeader) -> None:
    """A label map in a mode wider than 8 bits holds values 0..255 only (they survive
    mmseg's ``uint8`` cast); decodes the file only in that case.

    Raises:
        DataError: naming the file, its mode and the values that would change.
    """
    from PIL import Image
    if header.mode not in WIDE_MODES:
        return
    with _no_bomb_check(), Image.open(path) as label_map:
        low, high = label_map.getextrema()
    if low >= 0 and high <= 255:
        return
    bad = high if high > 255 else low
    raise DataError(
        f'label map {path} has mode {header.mode!r} with values {low}..{high}: mmseg '
        "reads label maps as uint8 (LoadAnnotations' astype(np.uint8)), so "
        f'{bad} would silently become class {int(bad) % 256}. Store class ids 0..255 '
        "in an 8-bit ('L' or 'P') PNG.")
