"""The declarative base shared by every model module, with a naming convention so that
migrations get stable constraint names."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def random_id() -> str:
    """Random, non-sequential identifiers: an id never tells how many reports came before."""
    return secrets.token_hex(10)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sql_in(column: str, values: Iterable[str]) -> str:
    """`column IN ('a', 'b')`, the text of a CHECK constraint (the values are our own enums)."""
    return f"{column} IN ({', '.join(_quoted(v) for v in values)})"


def sql_array(values: Iterable[str], cast: str) -> str:
    """`ARRAY['a', 'b']::cast`, for an array containment CHECK constraint (`roles <@ ...`)."""
    return f"ARRAY[{', '.join(_quoted(v) for v in values)}]::{cast}"


def _quoted(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB}
