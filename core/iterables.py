"""The one batcher: lists of at most `size` items from any iterable, memory bounded by `size`."""

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    # itertools.batched arrives with Python 3.12 (and yields tuples).
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch
