"""Name → object registries: the one source of truth for every list of names.

Tasks, cells, activations, initialisations, similarity metrics, graph kinds, studies and
figures each live in one :class:`Registry`. The config schema's enums, the command line's
choices and the report's captions are read from them, so adding an entry in one place makes
it valid everywhere (and nothing else lists the names by hand).
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping of names to objects of one kind, with errors that list what exists."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T, replace: bool = False) -> T:
        """Register ``item`` under ``name``; a second registration of a name is an error unless
        ``replace`` (so two plug-ins cannot silently shadow each other)."""
        if name in self._items and not replace and self._items[name] is not item:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; allowed: {', '.join(self._items) or '(none registered)'}")
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def remove(self, name: str) -> None:
        """Unregister ``name`` (tests that register a temporary entry clean up with this)."""
        self._items.pop(name, None)

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
