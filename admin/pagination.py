"""Keyset pagination for back-office lists: a page is its rows plus "next" / "previous" (and
"last") cursors carried in the URL, so the last page of 10,000 rows costs what the first does.

A list declares its order as sort keys (expressions, each ascending or descending; the last one
unique, usually the id). A cursor names the sort key of the row a page starts after (or ends
before); it is signed with the app's secret and the list's name, so it is opaque to people and
cannot be hand-made or carried to another list. A tampered, malformed or foreign cursor raises
`BadCursor`, which the views answer with page 1 and a message, never a 500.

A page costs one statement whatever its position: the rows' query with the key condition,
ordered and limited to one row more than the page (that extra row says whether another page
follows). So that the database reads only those rows, each key must come from an index that
also covers the query's conditions; a list no single index can order is given as parts (see
`Part`). Counting is left to the caller: `count_up_to` counts at most a bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, flash, request
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, false, func, literal, or_, select, true, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from models import db

PAGE_SIZE = 50  # rows per page unless the app's LIST_PAGE_SIZE says otherwise
CURSOR_ARG = "page"  # the query-string parameter holding a cursor

AFTER, BEFORE, LAST = "a", "b", "z"


class BadCursor(ValueError):
    """The cursor in the URL was not made by this list (tampered, truncated or foreign)."""


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order. `kind` is the Python type of its values (int, str or
    datetime): a cursor's values are checked against it. Values must never be NULL. A list
    given as parts (`Part`) gives the key's expression in each part instead of `expr`."""

    expr: ColumnElement[Any] | None = None
    kind: type = int
    descending: bool = False


@dataclass(frozen=True)
class Part:
    """One SELECT of a list made of several, joined by UNION ALL. `stmt` selects the columns a
    row is made of (the same in every part); `keys` gives each of the list's sort keys in this
    part: an expression, or the plain value (int, str, datetime) the key has on every row of
    the part, such as the kind of item or the rank the part stands for.

    Given a UNION ALL to order and limit, PostgreSQL reads and sorts every row of every branch,
    even when each branch could be read in order from an index (it does not merge branches
    that differ in a constant column). Each part is therefore ordered and limited on its own,
    with the cursor's condition worked out for it (a constant key is compared in Python, so
    what reaches the database compares indexed columns), and only the parts' first rows are
    sorted together."""

    stmt: Select
    keys: tuple[Any, ...]


def _is_constant(expr: Any) -> bool:
    return isinstance(expr, int | str | datetime)


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    last_cursor: str | None = None  # None on the last page itself
    is_first: bool = True

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor or not self.is_first)


def page_size() -> int:
    return int(current_app.config.get("LIST_PAGE_SIZE", PAGE_SIZE))


def _serializer(list_name: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"keyset-page:{list_name}")


def _dump(value: Any, kind: type) -> Any:
    return value.isoformat() if kind is datetime else value


def _load(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise BadCursor("not a timestamp")
        try:
            when = datetime.fromisoformat(value)
        except ValueError as exc:
            raise BadCursor("not a timestamp") from exc
        if when.tzinfo is None:
            raise BadCursor("a timestamp without its time zone")
        return when
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadCursor("not a whole number")
    if kind is str and not isinstance(value, str):
        raise BadCursor("not text")
    return value


def encode_cursor(list_name: str, keys: Sequence[SortKey], direction: str, values=()) -> str:
    """`values`: the sort key of the row to start after (AFTER) or end before (BEFORE); none
    for the last page (LAST)."""
    dumped = (
        [] if direction == LAST else [_dump(v, k.kind) for v, k in zip(values, keys, strict=True)]
    )
    return _serializer(list_name).dumps([direction, dumped])


def decode_cursor(list_name: str, keys: Sequence[SortKey], cursor: str) -> tuple[str, tuple]:
    """(direction, key values) of a cursor this list made. Raises BadCursor otherwise."""
    try:
        payload = _serializer(list_name).loads(cursor)
    except BadData as exc:
        raise BadCursor("signature") from exc
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[1], list)):
        raise BadCursor("shape")
    direction, values = payload
    if direction == LAST and not values:
        return LAST, ()
    if direction not in (AFTER, BEFORE) or len(values) != len(keys):
        raise BadCursor("shape")
    return direction, tuple(_load(v, k.kind) for v, k in zip(values, keys, strict=True))


def _compare(
    keys: Sequence[SortKey],
    exprs: Sequence[Any],
    values: Sequence[Any],
    forward: bool,
    *,
    inclusive: bool,
) -> ColumnElement[bool]:
    """Rows whose `exprs` come after (`forward`) or before `values` in the keys' order, or
    equal them when `inclusive`."""
    if not exprs:
        return true() if inclusive else false()
    if len({k.descending for k in keys}) == 1:  # one direction: a row-value comparison
        left = tuple_(*exprs) if len(exprs) > 1 else exprs[0]
        right = tuple_(*values) if len(values) > 1 else values[0]
        if forward != keys[0].descending:
            return left >= right if inclusive else left > right
        return left <= right if inclusive else left < right
    alternatives = []
    for i, (key, expr) in enumerate(zip(keys, exprs, strict=True)):
        equal = [e == v for e, v in zip(exprs[:i], values[:i], strict=True)]
        step = expr > values[i] if forward != key.descending else expr < values[i]
        alternatives.append(and_(*equal, step))
    if inclusive:
        alternatives.append(and_(*(e == v for e, v in zip(exprs, values, strict=True))))
    return or_(*alternatives)


def _beyond(
    keys: Sequence[SortKey], exprs: Sequence[Any], values: tuple, forward: bool
) -> ColumnElement[bool]:
    """Rows of one part after (`forward`) or before the row whose sort key is `values`."""
    compared: list[int] = []  # the keys the database compares
    inclusive = False
    for i, (key, expr, value) in enumerate(zip(keys, exprs, values, strict=True)):
        if not _is_constant(expr):
            compared.append(i)
            continue
        if expr == value:
            continue
        # every row of the part differs from the cursor's row here: on this key the whole
        # part is beyond it (rows equal on the keys before count too), or none of it is
        inclusive = (expr > value) == (forward != key.descending)
        break
    return _compare(
        [keys[i] for i in compared],
        [exprs[i] for i in compared],
        [values[i] for i in compared],
        forward,
        inclusive=inclusive,
    )


def _ordered(expr: Any, key: SortKey, forward: bool):
    return expr.desc() if key.descending == forward else expr.asc()


def _part_query(
    part: Part, keys: Sequence[SortKey], values: tuple, forward: bool, limit: int
) -> Select:
    """The part's rows beyond the cursor, its keys labelled keyset_<i>, in the page's order."""
    stmt = part.stmt
    if values:
        stmt = stmt.where(_beyond(keys, part.keys, values, forward))
    labelled = [
        (literal(e) if _is_constant(e) else e).label(f"keyset_{i}") for i, e in enumerate(part.keys)
    ]
    order = [
        _ordered(e, k, forward) for e, k in zip(part.keys, keys, strict=True) if not _is_constant(e)
    ]
    return stmt.add_columns(*labelled).order_by(None).order_by(*order).limit(limit)


def _page_query(
    parts: Sequence[Part], keys: Sequence[SortKey], values: tuple, forward: bool, limit: int
) -> Select:
    queries = [_part_query(p, keys, values, forward, limit) for p in parts]
    if len(queries) == 1:
        return queries[0]
    # each part as a subquery: SQLite refuses ORDER BY / LIMIT on a UNION's own members
    union = union_all(*(select(*q.subquery().c) for q in queries)).subquery("page")
    width = len(union.c) - len(keys)
    order = [_ordered(union.c[width + i], k, forward) for i, k in enumerate(keys)]
    return select(*union.c).order_by(*order).limit(limit)


def keyset_page(
    source: Select | Sequence[Part],
    keys: Sequence[SortKey],
    cursor: str | None,
    *,
    list_name: str,
    per_page: int | None = None,
) -> Page:
    """One page of `source` in the order of `keys`, from `cursor` (None: the first page).

    `source` is a statement selecting what a row is (one entity, or several columns), the keys'
    expressions being added to it, or the list's parts (see `Part`). Collections are eager-loaded
    with selectinload (a joined collection would multiply the rows the LIMIT counts). Raises
    BadCursor (see `page_or_first`)."""
    per_page = per_page or page_size()
    direction, values = decode_cursor(list_name, keys, cursor) if cursor else (None, ())
    forward = direction in (None, AFTER)
    parts = [Part(source, tuple(k.expr for k in keys))] if isinstance(source, Select) else source
    width = len(parts[0].stmt.selected_columns)
    result = db.session.execute(_page_query(parts, keys, values, forward, per_page + 1))
    fetched = result.all()
    more = len(fetched) > per_page
    fetched = fetched[:per_page]
    if not forward:
        fetched.reverse()
    rows = [r[0] if width == 1 else tuple(r[:width]) for r in fetched]
    key_of = [tuple(r[width:]) for r in fetched]
    has_next = more if forward else direction == BEFORE
    has_previous = direction is not None if forward else more

    def make(direction: str, values=()) -> str:
        return encode_cursor(list_name, keys, direction, values)

    return Page(
        rows=rows,
        next_cursor=make(AFTER, key_of[-1]) if has_next and key_of else None,
        previous_cursor=make(BEFORE, key_of[0]) if has_previous and key_of else None,
        last_cursor=make(LAST) if has_next else None,
        is_first=not has_previous,
    )


def page_or_first(
    source: Select | Sequence[Part], keys: Sequence[SortKey], *, list_name: str
) -> Page:
    """The page the URL's cursor names; a cursor this list did not make gives page 1 and a
    message saying so (a bookmarked URL from before a secret change, a truncated link)."""
    cursor = request.args.get(CURSOR_ARG) or None
    try:
        return keyset_page(source, keys, cursor, list_name=list_name)
    except BadCursor:
        flash(
            "That page link was not valid (it may be cut short or out of date), "
            "so this is the first page.",
            "warning",
        )
        return keyset_page(source, keys, None, list_name=list_name)


def count_up_to(stmt: Select, bound: int) -> int:
    """How many rows `stmt` has, counting at most bound + 1 of them: the answer is exact up to
    `bound`; bound + 1 means "more than bound". The database stops reading the result after
    bound + 1 rows (what it does to produce them is the statement's own cost)."""
    limited = stmt.order_by(None).limit(bound + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(limited)) or 0
