"""Hostile SQL audiences: refused at load with a clear ``ConfigError``, or run read-only over the
registered tables and return ids. Nothing is written, no file is read, the tables are unchanged.

A sentinel CSV sits in a temp dir: a query that reads it would return its marker id, and a
query that writes would change the folder's listing or the file's bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amperity_braze_assets.activation.audiences import AudienceQueryError, build_audiences
from amperity_braze_assets.activation.config import (
    load_attribute_config,
    read_only_sql_problem,
)
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.braze.helpers import make_project

SENTINEL_DIR = Path(tempfile.mkdtemp(prefix="sql-sentinel-"))
SENTINEL = SENTINEL_DIR / "secret.csv"
SENTINEL_TEXT = "amperity_id\nLEAKED-FROM-FILE\n"
SENTINEL.write_text(SENTINEL_TEXT)
PARQUET = SENTINEL_DIR / "secret.parquet"
pl.DataFrame({"amperity_id": ["LEAKED-FROM-PARQUET"]}).write_parquet(PARQUET)
LEAKS = {"LEAKED-FROM-FILE", "LEAKED-FROM-PARQUET"}

CUSTOMER_360 = pl.DataFrame(
    {"amperity_id": ["A1", "A2", "A3"], "email": ["a@x.io", None, "c@x.io"]},
)
TRANSACTIONS = pl.DataFrame(
    {"amperity_id": ["A1", "A3"], "l12m_monetary": [250.0, 10.0], "l12m_frequency": [3, 1]}
)

FILE_READS = [
    f"read_csv('{SENTINEL}')",
    f"READ_CSV ('{SENTINEL}')",
    f"\"read_csv\"('{SENTINEL}')",
    f"`read_csv`('{SENTINEL}')",
    f"read_parquet('{PARQUET}')",
    f"read_ipc('{PARQUET}')",
    f"read_json('{SENTINEL}')",
    f"read_ndjson('{SENTINEL}')",
    f"scan_csv('{SENTINEL}')",
    f"scan_parquet('{PARQUET}')",
    f"glob('{SENTINEL_DIR}/*')",
    f"'{SENTINEL}'",
]
WRITES = [
    "INSERT INTO customer_360 VALUES ('X', 'x@x.io')",
    "UPDATE customer_360 SET email = 'p@wn.ed'",
    "DELETE FROM customer_360",
    "CREATE TABLE customer_360 AS SELECT 'X' AS amperity_id",
    "DROP TABLE customer_360",
    f"COPY customer_360 TO '{SENTINEL_DIR}/out.csv'",
    f"COPY (SELECT 1) TO '{SENTINEL}'",
    f"ATTACH '{SENTINEL_DIR}/db' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA threads=1",
    "SET x = 1",
    "TRUNCATE customer_360",
    "ALTER TABLE customer_360 ADD COLUMN x INT",
    "SELECT * INTO evil FROM customer_360",
    "EXPLAIN SELECT 1",
    "SHOW TABLES",
]
HARMLESS_WORDS = [
    "drop table customer_360",
    "insert into x",
    "update; delete",
    "read_csv('/etc/passwd')",
    "-- comment",
    "/* not a comment */",
    "ATTACH 'x'",
    "COPY TO",
    "'; DROP TABLE x; --",
    "$$",
    '"',
    "漢字🙂",
    "\\",
]
# The ways a second statement or a file read has been hidden from naive scanners.
HIDING = [
    "SELECT amperity_id, '--' AS x FROM {read}",
    "SELECT amperity_id, '/*' AS x FROM {read} -- '*/'",
    'SELECT "--" AS amperity_id FROM {read}',
    "SELECT $$'$$ AS a, * FROM {read} -- '",
    "SELECT E'\\'' AS a, * FROM {read} --'",
    "SELECT amperity_id FROM customer_360 /* /* */ UNION SELECT * FROM {read} -- */",
    "SELECT amperity_id FROM customer_360 UNION ALL SELECT amperity_id FROM {read}",
    "WITH f AS (SELECT * FROM {read}) SELECT amperity_id FROM f",
    "SELECT amperity_id FROM customer_360 WHERE amperity_id IN (SELECT amperity_id FROM {read})",
    "SELECT amperity_id FROM customer_360; SELECT * FROM {read}",
    "SELECT amperity_id FROM customer_360 --\n; SELECT * FROM {read}",
]
# Read from something other than a registered table, each in another disguise: the guard allows
# only the registered tables and the query's own WITH names, so each is refused by the parser.
UNREGISTERED_READS = [
    f"SELECT amperity_id FROM read_csv_auto('{SENTINEL}')",
    f"SELECT amperity_id FROM (SELECT * FROM read_parquet('{PARQUET}')) AS p",
    f"SELECT amperity_id FROM customer_360 WHERE EXISTS (SELECT 1 FROM scan_csv('{SENTINEL}'))",
    "WITH f AS (SELECT amperity_id FROM secrets) SELECT amperity_id FROM f",
    "SELECT amperity_id FROM customer_360 /* one */; /* two */ DROP TABLE customer_360",
    "SELECT amperity_id FROM customer_360 -- ;\n; DELETE FROM customer_360",
    f'SELECT amperity_id FROM "{SENTINEL}"',
    "SELECT amperity_id FROM customer_360 UNION SELECT amperity_id FROM hidden_global",
    "SELECT amperity_id FROM main.customer_360",
    "VALUES ('LEAKED-FROM-FILE')",
    "WITH a AS (SELECT amperity_id FROM customer_360) DELETE FROM customer_360",
]
SAFE_QUERIES = [
    "SELECT amperity_id FROM customer_360",
    "SELECT amperity_id FROM customer_transactions WHERE l12m_monetary >= 200",
    "WITH t AS (SELECT amperity_id FROM customer_360 WHERE email IS NOT NULL) SELECT * FROM t",
    "SELECT c.amperity_id FROM customer_360 c JOIN customer_transactions t USING (amperity_id)",
    "-- a comment with DROP TABLE\nSELECT amperity_id FROM customer_360;",
]


def load_with(folder: Path, sql: str):
    return load_attribute_config(make_project(folder, "", sql={"hostile": sql}))


def snapshot() -> tuple:
    return (
        sorted(p.name for p in SENTINEL_DIR.iterdir()),
        SENTINEL.read_text(),
        CUSTOMER_360.clone(),
        TRANSACTIONS.clone(),
    )


def assert_unchanged(before: tuple) -> None:
    after = snapshot()
    assert after[:2] == before[:2], "a file was written"
    assert after[2].equals(before[2]) and after[3].equals(before[3]), "a table changed"
    assert CUSTOMER_360.equals(before[2]) and TRANSACTIONS.equals(before[3])


FIGURES = {"refused": 0, "ran": 0}


def load_or_run(sql: str) -> str:
    """'refused' (ConfigError at load, the file named and a fix given) or 'ran' (ids only
    from the registered tables); never a leak, a write, or another exception."""
    before = snapshot()
    folder = Path(tempfile.mkdtemp(prefix="sql-"))
    try:
        config = load_with(folder, sql)
    except ConfigError as exc:
        message = str(exc)
        assert "hostile.sql" in message, message
        assert any(w in message for w in ("refused", "does not run", "must return", "alias it"))
        assert_unchanged(before)
        FIGURES["refused"] += 1
        return "refused"
    try:
        result = build_audiences(
            {"customer_360": CUSTOMER_360, "customer_transactions": TRANSACTIONS}, config
        )
    except AudienceQueryError as exc:  # a query that compiles on empty tables and fails on data
        assert "hostile.sql" in str(exc)
        assert_unchanged(before)
        FIGURES["refused"] += 1
        return "refused"
    ids = set(result.memberships["amperity_id"].to_list())
    assert not ids & LEAKS
    assert ids <= set(CUSTOMER_360["amperity_id"])
    assert_unchanged(before)
    FIGURES["ran"] += 1
    return "ran"


@pytest.mark.parametrize("read", FILE_READS)
def test_file_reads_are_refused(read):
    assert load_or_run(f"SELECT * FROM {read}") == "refused"
    assert read_only_sql_problem(f"SELECT * FROM {read}") is not None or read.startswith("'")


@pytest.mark.parametrize("write", WRITES)
def test_writes_and_other_statements_are_refused(write):
    assert read_only_sql_problem(write) is not None
    assert load_or_run(write) == "refused"
    assert "refused" in str(pytest.raises(ConfigError, load_with, Path(tempfile.mkdtemp()), write))


@pytest.mark.parametrize("template", HIDING)
@pytest.mark.parametrize("read", [FILE_READS[0], FILE_READS[2], FILE_READS[4]])
def test_statements_hidden_in_comments_and_strings_are_refused(template, read):
    sql = template.format(read=read)
    if "/* /*" in template:  # block comments nest, as in polars' parser: all of it is comment
        assert read_only_sql_problem(sql) is None and load_or_run(sql) == "ran"
        return
    assert read_only_sql_problem(sql) is not None, sql
    assert load_or_run(sql) == "refused"


@pytest.mark.parametrize("sql", UNREGISTERED_READS)
def test_reads_of_anything_but_the_registered_tables_are_refused(sql):
    assert read_only_sql_problem(sql) is not None, sql
    assert load_or_run(sql) == "refused"


@pytest.mark.parametrize("sql", SAFE_QUERIES)
def test_read_only_queries_run(sql):
    assert read_only_sql_problem(sql) is None
    assert load_or_run(sql) == "ran"


@given(st.sampled_from(HARMLESS_WORDS) | st.text(max_size=40))
def test_string_literals_holding_dangerous_words_are_not_refused(text):
    literal = "'" + text.replace("'", "''") + "'"
    sql = f"SELECT amperity_id, {literal} AS note_text FROM customer_360 WHERE email <> {literal}"
    assert read_only_sql_problem(sql) is None, sql
    # It runs when polars' parser takes the text (a NUL may not be); either way nothing leaks.
    load_or_run(sql)


TOKENS = st.sampled_from(
    [
        "SELECT",
        "WITH",
        "amperity_id",
        "FROM",
        "customer_360",
        "customer_transactions",
        "WHERE",
        "UNION",
        "ALL",
        "(",
        ")",
        ",",
        ";",
        "*",
        "=",
        "--",
        "\n",
        "/*",
        "*/",
        "'",
        "''",
        '"',
        "`",
        "$$",
        "E'",
        "\\",
        "DROP",
        "INSERT",
        "INTO",
        "COPY",
        "ATTACH",
        "x",
        "'a'",
        "1",
        "漢",
        *FILE_READS,
    ]
)


@given(st.lists(TOKENS, min_size=1, max_size=25).map(" ".join) | st.text(max_size=60))
def test_random_queries_are_refused_or_run_read_only(sql):
    load_or_run(sql)


@settings(max_examples=10)
@given(st.integers(1, 5_000), st.integers(0, 200_000))
def test_very_long_queries(n, width):
    # (long OR chains are quadratic in polars' planner, so length comes from a list, a literal
    # and a comment, which the guard scans in linear time)
    values = ", ".join(f"'v{i}@x.io'" for i in range(n))
    sql = (
        f"/* {'-' * width} */ SELECT amperity_id, '{'d' * width}' AS pad FROM customer_360 "
        f"WHERE email IN ({values}) OR email IS NOT NULL -- {'x' * width}"
    )
    assert load_or_run(sql) == "ran"
