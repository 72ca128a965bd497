"""The reconciler's MySQL source reads, on the real MariaDB: the JSON read (one JSON text
per chunk, or per row) must give exactly the values of the column-by-column read, for
every type it is used for and the awkward values of each; other types must not take it."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pymysql
import pytest

from replicator.mapping.model import SourceSpec
from replicator.reconcile.source_reader import SourceReader
from replicator.stack.workspace import unique

pytestmark = pytest.mark.stack

DDL = """CREATE TABLE t (
  id BIGINT PRIMARY KEY, tiny TINYINT, flag TINYINT(1), small SMALLINT, med MEDIUMINT, num INT,
  big BIGINT UNSIGNED, name VARCHAR(100), latin VARCHAR(50) CHARACTER SET latin1, body TEXT,
  state ENUM('ACTIVE', 'GONE'), tags SET('a', 'b'), price DECIMAL(12, 4), created DATETIME(3),
  plain DATETIME, stamp TIMESTAMP(6) NULL, day DATE)"""

AWKWARD_TEXT = ["", " ", "a\"b", "back\\slash", "tab\there", "new\nline", "é", "😀", "nul\x00byte", "{\"json\": 1}",
                "null", "[1]", "\u2028"]


def row(i: int, rnd: random.Random) -> tuple:
    def maybe(v):
        return None if rnd.random() < 0.15 else v
    text = rnd.choice(AWKWARD_TEXT) + str(i)
    return (i, maybe(rnd.randint(-128, 127)), maybe(rnd.randint(0, 1)), maybe(rnd.randint(-32768, 32767)),
            maybe(rnd.randint(-8388608, 8388607)), maybe(rnd.randint(-2**31, 2**31 - 1)),
            maybe(rnd.choice([0, 1, 2**63, 2**64 - 1, rnd.randint(0, 2**64 - 1)])), maybe(text),
            maybe(rnd.choice(["café", "plain", "ÿ"])), maybe(text * 3), maybe(rnd.choice(["ACTIVE", "GONE"])),
            maybe(rnd.choice(["", "a", "a,b"])),
            maybe(Decimal(rnd.randint(-10**11, 10**11)) / Decimal(10000)),
            maybe(dt.datetime(2024, 1, 1, 10, 0, 0, rnd.randint(0, 999) * 1000) + dt.timedelta(days=rnd.randint(-9000, 9000))),
            maybe(rnd.choice([dt.datetime(2020, 2, 29, 23, 59, 59), "0000-00-00 00:00:00"])),
            maybe(dt.datetime(2021, 6, 1, 12, 30, 15, rnd.randint(0, 999999))),
            maybe(rnd.choice([dt.date(1999, 12, 31), dt.date(2024, 2, 29), "0000-00-00"])))


@pytest.fixture(scope="module")
def source(stack):
    db = unique("t_")
    params = stack.mysql_params()
    with pymysql.connect(**params, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # allow the zero dates a legacy database holds
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"USE `{db}`")
        cur.execute(DDL)
        rnd = random.Random(7)
        cur.executemany("INSERT INTO t VALUES (" + ", ".join(["%s"] * 17) + ")", [row(i, rnd) for i in range(1, 2001)])
    reader = SourceReader("legacy", SourceSpec(kind="mysql", topic_prefix="x", database=db), {**params, "database": db})
    yield reader
    reader.close()
    with pymysql.connect(**params, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{db}`")


COLUMNS = ["id", "tiny", "flag", "small", "med", "num", "big", "name", "latin", "body", "state", "tags", "price",
           "created", "plain", "stamp", "day"]


def read_all(reader: SourceReader, json_rows: bool, limit: int) -> list[dict]:
    reader.json_rows = json_rows
    out, after = [], None
    while True:
        chunk = reader.read_chunk("t", COLUMNS, ["id"], after=after, limit=limit)
        if not chunk:
            return out
        out.extend(chunk)
        after = (chunk[-1]["id"],)


@pytest.mark.parametrize("limit", [1, 7, 500, 5000])
def test_the_json_read_gives_the_values_of_the_column_read(source, limit):
    classic = read_all(source, False, 5000)
    fast = read_all(source, True, limit)
    assert len(classic) == 2000
    assert fast == classic
    # and the same types, not just equal values (1 == True, Decimal("1") == 1)
    assert [[type(v) for v in r.values()] for r in fast] == [[type(v) for v in r.values()] for r in classic]


def test_a_chunk_too_long_for_the_server_is_read_row_by_row(source):
    source.json_rows = True
    source.connect()
    with source.conn.cursor() as cur:
        cur.execute("SET SESSION group_concat_max_len = 1024")  # the whole-chunk text gets cut
    try:
        rows = source.read_chunk("t", COLUMNS, ["id"], limit=300)
    finally:
        with source.conn.cursor() as cur:
            cur.execute("SET SESSION group_concat_max_len = 1073741824")
    source.json_rows = False
    assert rows == source.read_chunk("t", COLUMNS, ["id"], limit=300)


def test_types_without_an_exact_json_form_are_read_column_by_column(source):
    source.connect()
    with source.conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS f (id INT PRIMARY KEY, x FLOAT, b VARBINARY(4))")
        cur.execute("REPLACE INTO f VALUES (1, 1.1, x'00ff'), (2, NULL, NULL)")
    assert source._json_plan("f", ["id", "x"]) is None and source._json_plan("f", ["id", "b"]) is None
    source.json_rows = True
    assert source.read_chunk("f", ["id", "x", "b"], ["id"]) == [{"id": 1, "x": pytest.approx(1.1), "b": b"\x00\xff"},
                                                              {"id": 2, "x": None, "b": None}]
