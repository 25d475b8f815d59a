"""The error raised for a data file that cannot be used, and how ids are listed."""
from typing import Sequence


class DataError(ValueError):
    """A dataset file or value that training / testing cannot use; the message names
    the file (and the annotation ids or lines) and what is allowed."""


def describe_ids(ids: Sequence, shown: int = 10) -> str:
    """``'ids [3, 7] (2)'``; long lists are cut after ``shown`` entries."""
    listed = ', '.join(str(i) for i in list(ids)[:shown])
    more = ', ...' if len(ids) > shown else ''
    return f'ids [{listed}{more}] ({len(ids)})'
