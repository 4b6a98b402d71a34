"""A least-recently-used cache bounded by the total size of what it holds, safe across the API
server's request threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SizedLru(Generic[V]):
    """Holds values of a known size until their total passes ``max_bytes``; the least recently
    used go first. A value larger than the whole bound is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            if (entry := self._entries.get(key)) is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        with self._lock:
            if (old := self._entries.pop(key, None)) is not None:
                self._total -= old[1]
            if size > self.max_bytes:
                return
            self._entries[key] = (value, size)
            self._total += size
            while self._total > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped

    def __len__(self) -> int:
        return len(self._entries)
