"""搜索's index: which instances' texts hold which three characters, kept as texts are written.

Chinese has no spaces, and most searches are two or three characters, so words are not
indexed: every run of three characters of a text is (and its last two, and its last one,
so that every character and pair begins some indexed run). A run is a number — its
characters' code points side by side, 21 bits each — so that the runs beginning with one
or two given characters are a range of numbers, found the same way on SQLite and on
PostgreSQL whatever the database's collation. ASCII letters are indexed in lower case, as
SQLite's LIKE matches them.

The index says where a word may be, never where it is: a search reads the rows of the
instances it names and keeps its own LIKE conditions, so a result is what it would be
without the index. It only grows (a text that changes adds its new runs; old runs only cost
a candidate that LIKE then drops), so it is kept by adding, with no read before the write.

Texts of an instance: its business key, its tasks' titles, its issue ledger row (title,
business key, project code and name) and its 13710 desk row (title, business key). The
runtime and the ledger add them in the transaction that writes them; `rebuild_text_index`
counts them all again (set-based SQL), as the migration and the history generator do.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import BigInteger, Integer, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base

BITS = 21  # a code point's bits
MASK = (1 << BITS) - 1
CAP = 10_000  # instances a run may name and still narrow a search
RAREST = 3  # runs intersected to find the instances a search reads


class TextGram(Base):
    """An instance one of whose texts holds a run of characters (`gram`, encoded)."""

    __tablename__ = "text_gram"
    __table_args__ = {"sqlite_with_rowid": False}

    gram: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


_TABLE = TextGram.__table__


def _fold(value: str) -> str:
    """ASCII letters in lower case, as SQLite's LIKE compares them; the rest as it is."""
    return value.translate(_LOWER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _code(run: str) -> int:
    """A run of one to three characters as one number (missing characters are 0)."""
    a, b, c = (ord(ch) for ch in run.ljust(3, "\0"))
    return (a << 2 * BITS) | (b << BITS) | c


def grams(value: str) -> set[int]:
    """The runs indexed for a text: each three characters, the last two, the last one."""
    value = _fold(value)
    return {_code(value[i:i + 3]) for i in range(len(value))}


def add_texts(session: Session, instance_id: int, texts: Iterable[str | None]) -> None:
    """Index an instance's texts (those already indexed cost nothing but the statement)."""
    codes = set()
    for value in texts:
        if value:
            codes |= grams(value)
    if not codes:
        return
    session.execute(_adding(session.get_bind().dialect.name), [
        {"gram": code, "instance_id": instance_id} for code in sorted(codes)])


@functools.cache
def _adding(dialect: str):
    """INSERT … ON CONFLICT DO NOTHING into the index (built once per dialect)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(_TABLE).on_conflict_do_nothing()


def ranges(word: str) -> list[tuple[int, int]]:
    """The runs that every text holding `word` holds one of, as ranges of codes: each of
    its three characters (a word of three or more), else those beginning with it."""
    word = _fold(word)
    if len(word) >= 3:
        return [(code, code) for code in sorted({_code(word[i:i + 3])
                                                 for i in range(len(word) - 2)})]
    low = _code(word)
    return [(low, low | (MASK if len(word) == 2 else (MASK << BITS) | MASK))]


def candidates(session: Session, words: Iterable[str], cap: int = CAP) -> set[int] | None:
    """The instances whose texts may hold every word, or None when the words are too common
    to narrow anything (each of their runs is in the texts of more than `cap` instances).

    Each run is counted (up to the cap) in the index alone; the instances of the rarest are
    then kept by the database when they hold the next rarest too, so only the instances
    holding all of them come back."""
    connection, gram, instance = session.connection(), _TABLE.c.gram, _TABLE.c.instance_id
    counted = []
    for word in words:
        for low, high in ranges(word):
            within = gram.between(low, high)
            count = connection.execute(select(func.count()).select_from(
                select(instance).where(within).limit(cap + 1).subquery())).scalar_one()
            if count <= cap:
                counted.append((count, low, high))
    if not counted:
        return None
    counted.sort()
    if counted[0][0] == 0:
        return set()
    (_count, low, high), *others = counted[:RAREST]
    query = select(instance).where(gram.between(low, high))
    for _count, low, high in others:  # each read once into a set the rarest is probed against
        other = _TABLE.alias()
        query = query.where(instance.in_(select(other.c.instance_id).where(
            other.c.gram.between(low, high))))
    return set(connection.execute(query).scalars())


# Every text an instance is found by, as (instance id, text) — read by the rebuild.
_TEXTS = """
    SELECT id AS instance_id, business_key AS t FROM process_instance
    UNION SELECT instance_id, name FROM human_task
    UNION SELECT instance_id, title FROM issue_ledger
    UNION SELECT instance_id, business_key FROM issue_ledger
    UNION SELECT instance_id, project_code FROM issue_ledger
    UNION SELECT instance_id, project_name FROM issue_ledger
    UNION SELECT instance_id, title FROM instruction_desk
    UNION SELECT instance_id, business_key FROM instruction_desk
"""


def rebuild_sql(dialect: str) -> str:
    """INSERT … SELECT of every run of every text (one statement, set-based)."""
    if dialect == "postgresql":  # lower() would fold more than A–Z there; ascii() is the code point
        folded = "translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        point = "ascii"
    else:  # SQLite's lower() folds A–Z only
        folded, point = "lower(t)", "unicode"

    def at(k: int) -> str:
        return f"CAST(coalesce({point}(nullif(substr(t, i + {k}, 1), '')), 0) AS BIGINT)"
    code = f"{at(0)} * {1 << 2 * BITS} + {at(1)} * {1 << BITS} + {at(2)}"
    return f"""
        WITH RECURSIVE texts(instance_id, t) AS (
            SELECT instance_id, {folded} FROM ({_TEXTS}) AS every_text
            WHERE t IS NOT NULL AND t != ''),
        runs(instance_id, t, i) AS (
            SELECT instance_id, t, 1 FROM texts
            UNION ALL SELECT instance_id, t, i + 1 FROM runs WHERE i < length(t))
        INSERT INTO text_gram (gram, instance_id)
        SELECT DISTINCT {code}, instance_id FROM runs
    """


def rebuild_text_index(session: Session) -> None:
    """Index every instance's texts again from the rows (set-based). The caller commits."""
    session.execute(TextGram.__table__.delete())
    session.execute(text(rebuild_sql(session.get_bind().dialect.name)))


def indexed_count(session: Session) -> int:
    """How many (run, instance) pairs the index holds."""
    return session.execute(select(func.count()).select_from(TextGram)).scalar_one()
