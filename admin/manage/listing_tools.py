"""Shared by the admin list pages: keyset pagination and spreadsheet-safe CSV exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response, request
from sqlalchemy import tuple_

from models import db
from models.publishing import safe_cell

PER_PAGE = 50


def after_id() -> int | None:
    raw = request.args.get("after", "")
    return int(raw) if raw.isdigit() else None


def keyset_page(query, model, sort_expr, *, per_page: int = PER_PAGE, descending: bool = False):
    """One page of `query` ordered by (sort_expr, id), starting after the row named by ?after=<id>.
    Returns (rows, next_after_id or None). Stable under inserts, constant cost on deep pages."""
    anchor_id = after_id()
    if anchor_id is not None:
        anchor = db.session.execute(
            db.select(sort_expr).select_from(model).where(model.id == anchor_id)
        ).first()
        if anchor is not None:
            key = tuple_(sort_expr, model.id)
            bound = tuple_(anchor[0], anchor_id)
            query = query.where(key < bound if descending else key > bound)
    order = (sort_expr.desc(), model.id.desc()) if descending else (sort_expr, model.id)
    rows = db.session.scalars(query.order_by(*order).limit(per_page + 1)).unique().all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1].id if more and rows else None)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buf = io.StringIO()
    buf.write("\ufeff")  # BOM: spreadsheets then read the file as UTF-8
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
