"""INSERTs handed to the database driver as they are, for rows written in large batches.

SQLAlchemy converts each value (JSON, date-times) while it executes; for a batch of hundreds of
rows written by a worker thread, that is a long stretch of Python holding the interpreter lock
the event loop is waiting for. Converting each row when it is recorded, on the loop, spreads the
cost evenly, and the batch then goes through the driver's own executemany.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Union

from sqlalchemy import Dialect, Table, insert

Params = Union[tuple[Any, ...], dict[str, Any]]


class PreparedInsert:
    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self._positions: Optional[Sequence[str]] = compiled.positiontup if compiled.positional else None
        self._converters: dict[str, Optional[Callable[[Any], Any]]] = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
        }

    def params(self, values: Mapping[str, Any]) -> Params:
        """The driver's parameters for one row (values by column name)."""
        converted = {name: convert(values[name]) if convert else values[name]
                     for name, convert in self._converters.items()}
        if self._positions is None:
            return converted
        return tuple(converted[name] for name in self._positions)
