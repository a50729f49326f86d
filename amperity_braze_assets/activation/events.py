"""``braze_events``: every purchase and custom event occurrence Braze may receive, one row each.

Columns (``EVENT_SCHEMA``): ``event_key`` (a stable hash of what the occurrence *is*, never of
where or how it was written: the same occurrence has the same key on every run, which is how the
event ledger sends it once), ``amperity_id``, ``kind`` (``purchase`` | ``event``), ``name`` (the
event name, or the purchase's product_id), ``time`` (UTC), ``currency``, ``price`` (per unit),
``quantity`` (purchases; at most 100 an object, see below) and ``properties`` (the JSON object
Braze receives, keys sorted, null and NaN values left out).

Keys, and why they are built this way (re-exports must not resend):
- a purchase: its order (``key:``, default ``source, order_id``), its product and its occurrence
  among that order's lines of the same product (ordered by price, quantity and properties, not
  by file position: a re-export that reorders the lines or overlaps an earlier file keeps the
  keys), and the unit range of its part (``u1-100``, ``u101-200``: always, so a line re-exported
  with another quantity keeps the key of each part it still has);
- a custom event: its name, its time *as an instant* (parsed to UTC: another text form of the
  same instant is the same key) and the entry's ``key:`` columns (default ``amperity_id``);
  properties never enter the key, so a changed or added property does not resend.

A row Braze would refuse is not sent: it goes to the rejects table with its reason (no id, no
time, a price that is not a number, an unknown currency, a property string over 255 characters,
a property name Braze reserves, another occurrence with the same key but different content...),
never silently dropped. Identical rows (same key, same content) are one occurrence.

Quantity: Braze counts a purchase object's ``quantity`` (1..100) as that many purchases. A line
of 250 is split into purchases of 100, 100 and 50 (each at the unit price, each its own key), so
revenue is complete; a quantity that is not a whole number of at least 1 is rejected.
"""

from __future__ import annotations

import polars as pl

from amperity_braze_assets.activation.config import (
    PERSON_ID,
    QUERY_TABLES,
    plan_reads_files,
    sql_context,
)
from amperity_braze_assets.activation.events_config import (
    MAX_NAME_CHARS,
    EventsConfig,
    EventSpec,
    PurchaseSpec,
    property_name_problem,
)
from amperity_braze_assets.hashing import stable_text_key
from amperity_braze_assets.sources.reader import TIMESTAMP_FORMATS_TRIED, parse_timestamp

PURCHASE, EVENT = "purchase", "event"
MAX_QUANTITY = 100  # spec: quantity at most 100 an object
# The reason of occurrences refused because another one has their key (the blocking check
# event_keys_unique counts them).
DUPLICATE_KEY = "another occurrence has the same key"
OCCURRENCE = "_occurrence"
# Positions in the export files (sources/reader.py numbers lines as read): they change when an
# order is re-exported, so they never enter a purchase's key (events_config refuses them).
POSITION_COLUMNS = ("line_number",)
# The export's own id of a line item (the ``line-id`` tag): when a line has one, its purchase is
# keyed by it, not by its occurrence among the order's lines of its product.
LINE_ID = "line_id"
KEY_SALT = "event-key"
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_key": pl.String(),
    PERSON_ID: pl.String(),
    "kind": pl.String(),
    "name": pl.String(),
    "time": pl.Datetime("us", "UTC"),
    "currency": pl.String(),
    "price": pl.Float64(),
    "quantity": pl.Int64(),
    "properties": pl.String(),
    # Purchases keyed by occurrence: the key's text without the occurrence (kind, product,
    # order), the occurrence and the part's first unit, so the sync can match a re-exported
    # order's lines to those its event ledger holds (braze/line_matching.py); null otherwise.
    "line_group": pl.String(),
    "occurrence": pl.Int64(),
    "first_unit": pl.Int64(),
}
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "event_key": pl.String(),
    PERSON_ID: pl.String(),
    "kind": pl.String(),
    "name": pl.String(),
    "time": pl.Datetime("us", "UTC"),
    "reason": pl.String(),
}
# ISO 4217 active alphabetic codes (the ISO 4217 maintenance agency's list A.1).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG
    XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL""".split()
)


class EventQueryError(ValueError):
    """An event's query failed or reads what it may not; the message names the file."""


def build_events(
    tables: dict[str, pl.DataFrame], config: EventsConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every valid occurrence, the rejected ones with a reason)."""
    parts: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    if config.purchases is not None:
        kept, refused = purchase_rows(tables[config.purchases.table], config.purchases)
        parts.append(kept)
        rejects.append(refused)
    for spec in config.events:
        kept, refused = event_rows(_event_source(spec, tables), spec)
        parts.append(kept)
        rejects.append(refused)
    events = pl.concat([pl.DataFrame(schema=EVENT_SCHEMA), *parts], how="vertical")
    refused = pl.concat([pl.DataFrame(schema=REJECT_SCHEMA), *rejects], how="vertical")
    return events, refused


def purchase_rows(lines: pl.DataFrame, spec: PurchaseSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Purchases of the order lines: one object per line, split in parts of at most 100."""
    currency = (
        pl.col(spec.currency).cast(pl.String).str.strip_chars().str.to_uppercase()
        if spec.currency in lines.columns
        else pl.lit(None, pl.String)
    )
    if spec.default_currency:
        currency = currency.fill_null(pl.lit(spec.default_currency))
    price = pl.col(spec.price).cast(pl.Float64, strict=False)
    quantity = pl.col(spec.quantity).cast(pl.Float64, strict=False)
    product = pl.col(spec.product_id).cast(pl.String)
    frame = lines.with_columns(
        _currency=currency,
        _price=price,
        _quantity=quantity,
        _product=product,
        _time=_as_utc(lines.schema[spec.time], pl.col(spec.time)),
    )
    reason = _first_reason(
        [
            (pl.col(PERSON_ID).is_null(), pl.lit("no amperity_id")),
            _time_check(lines.schema[spec.time], spec.time, "purchase"),
            (
                pl.col("_product").is_null() | (pl.col("_product").str.len_chars() == 0),
                pl.lit("no product_id"),
            ),
            (
                pl.col("_product").str.len_chars() > MAX_NAME_CHARS,
                pl.lit(f"product_id longer than {MAX_NAME_CHARS} characters"),
            ),
            (
                pl.col("_price").is_null() | ~pl.col("_price").is_finite(),
                pl.lit("price is not a number"),
            ),
            (
                pl.col("_currency").is_null(),
                pl.lit("no currency: the line's order has none; set purchases.default_currency"),
            ),
            (
                ~pl.col("_currency").is_in(sorted(ISO_4217)),
                pl.format("unknown currency code {}", pl.col("_currency")),
            ),
            (
                pl.col("_quantity").is_null()
                | (pl.col("_quantity") < 1)
                | (pl.col("_quantity") != pl.col("_quantity").floor()),
                pl.lit("quantity is not a whole number of at least 1"),
            ),
            *_property_checks(frame, spec.properties),
        ]
    )
    frame = frame.with_columns(_reason=reason, _name=pl.col("_product"))
    order_key = tuple(c for c in spec.key if c not in POSITION_COLUMNS)
    frame = _purchase_key(frame, order_key, spec.properties)
    kept, refused = _split(frame, PURCHASE)
    # Every part carries the unit range it stands for, a line of 40 too (u1-100): re-exported
    # at 150 its first part keeps its key and only u101-200 is new.
    first_unit = pl.col("_part") * MAX_QUANTITY + 1
    kept = (
        kept.with_columns(_parts=(pl.col("_quantity") / MAX_QUANTITY).ceil().cast(pl.Int64))
        .with_columns(_part=pl.int_ranges(0, pl.col("_parts")))
        .explode("_part")
        .with_columns(
            _quantity=pl.min_horizontal(
                pl.lit(MAX_QUANTITY), pl.col("_quantity") - pl.col("_part") * MAX_QUANTITY
            ),
            event_key=pl.format(
                "{}-u{}-{}", "event_key", first_unit, first_unit + (MAX_QUANTITY - 1)
            ),
            _first_unit=first_unit,
        )
    )
    named = (*order_key, spec.product_id)
    return _one_per_key(_event_frame(kept, PURCHASE, spec.properties), refused, named)


def _purchase_key(
    frame: pl.DataFrame, order_key: tuple[str, ...], properties: tuple[str, ...]
) -> pl.DataFrame:
    """``event_key`` of each line (its parts' unit ranges are added later): the hash of its
    group's text (kind, product, order key) and its export line id when it has one, else its
    occurrence (``line_group`` and ``_occurrence`` are kept for the sync's ledger matching)."""
    frame = _with_occurrence(frame, order_key, properties)
    group = pl.concat_str(
        [
            pl.lit(PURCHASE),
            pl.col("_product").fill_null(""),
            *[pl.col(c).cast(pl.String).fill_null("\x00") for c in order_key],
        ],
        separator="\x1f",
    )
    line_id = (
        pl.col(LINE_ID).cast(pl.String).str.strip_chars()
        if LINE_ID in frame.columns
        else pl.lit(None, pl.String)
    )
    line_id = pl.when(line_id != "").then(line_id)
    occurrence = pl.coalesce(
        pl.lit("line:") + line_id, pl.col(OCCURRENCE).cast(pl.String).fill_null("\x00")
    )
    frame = frame.with_columns(
        line_group=pl.when(line_id.is_null()).then(group),
        _key_text=pl.concat_str([group, occurrence], separator="\x1f"),
    )
    return frame.with_columns(event_key=stable_text_key(frame["_key_text"], KEY_SALT))


def _with_occurrence(
    frame: pl.DataFrame, order_key: tuple[str, ...], properties: tuple[str, ...]
) -> pl.DataFrame:
    """``_occurrence``: the line's number among its order's lines of the same product without
    a line id, in an order of their content (price, quantity, properties), not of their
    position in the files: the same order re-exported with its lines reordered numbers them the
    same. A re-export that adds a line shifts the numbers: the sync matches them to the keys
    its event ledger holds (braze/line_matching.py)."""
    without_id = (
        [pl.col(LINE_ID).cast(pl.String).str.strip_chars().fill_null("") != ""]
        if LINE_ID in frame.columns
        else []
    )
    content = [
        pl.col("_price"),
        pl.col("_quantity"),
        *[pl.col(c).cast(pl.String) for c in properties],
    ]
    return frame.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        .over([*order_key, "_product", *without_id], order_by=content)
        .alias(OCCURRENCE)
    )


def event_rows(source: pl.DataFrame, spec: EventSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One custom event per row of its table or query."""
    if spec.time not in source.columns or PERSON_ID not in source.columns:
        raise EventQueryError(
            f"event '{spec.name}': its rows need the columns {PERSON_ID} and {spec.time}; "
            f"they have {source.columns}."
        )
    properties = spec.properties
    if properties is None:
        properties = tuple(c for c in source.columns if c not in (PERSON_ID, spec.time))
    missing = [c for c in (*properties, *(spec.key or ())) if c not in source.columns]
    if missing:  # load_events_config refuses these; a table changed since is named here
        raise EventQueryError(
            f"event '{spec.name}' ({spec.sql_file or spec.table}): its rows have no column(s) "
            f"{missing} (properties or key:); they have {source.columns}."
        )
    frame = source.with_columns(
        _time=_as_utc(source.schema[spec.time], pl.col(spec.time)), _name=pl.lit(spec.name)
    )
    reason = _first_reason(
        [
            (pl.col(PERSON_ID).is_null(), pl.lit("no amperity_id")),
            _time_check(source.schema[spec.time], spec.time, "event"),
            *_property_checks(frame, properties),
        ]
    )
    # The instant, not the text it was written as; properties never (a changed or added
    # property is the same occurrence).
    key = tuple(c for c in (spec.key or (PERSON_ID,)) if c != spec.time)
    frame = frame.with_columns(_reason=reason, _instant=pl.col("_time").dt.epoch("us"))
    frame = _with_key(frame, EVENT, ("_instant", *key), pl.lit(spec.name))
    kept, refused = _split(frame, EVENT)
    return _one_per_key(_event_frame(kept, EVENT, properties), refused, (spec.time, *key))


def _event_source(spec: EventSpec, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    if spec.table is not None:
        return tables[spec.table]
    assert spec.sql is not None
    registered = {name: tables[name] for name in QUERY_TABLES if name in tables}
    try:
        result = sql_context(registered).execute(spec.sql, eager=False)
        result.collect_schema()
    except Exception as exc:
        raise EventQueryError(
            f"{spec.sql_file}: the query failed over {sorted(registered)}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc
    if plan_reads_files(result):  # the load-time guard's backstop: registered frames only
        raise EventQueryError(
            f"{spec.sql_file}: refused: the query reads files; an event query may only read "
            f"the registered tables {sorted(registered)}."
        )
    return result.collect()


def _as_utc(dtype: pl.DataType, column: pl.Expr) -> pl.Expr:
    """A time column as a UTC datetime: a date is its midnight UTC, a naive time is UTC (as
    Braze reads one), text is parsed as ISO 8601 (null when it is not one)."""
    target = pl.Datetime("us", "UTC")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype == pl.String:
        # Each value read on its own (an export may mix "2026-11-30T14:03Z" and
        # "2026-11-30 15:03:00+01:00" in one column): the sources reader's formats, which try
        # every form per value; minutes without seconds are given ":00" first.
        text = column.str.strip_chars().str.replace(
            r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d)([^:\d].*)?$", "${1}:00${2}"
        )
        return parse_timestamp(text)
    return pl.lit(None, target)


def _time_check(dtype: pl.DataType, column: str, kind: str) -> tuple[pl.Expr, pl.Expr]:
    """The check of an occurrence's time: none, or a text that is no time (named, so the
    export can be fixed)."""
    unread = pl.format(
        f"{kind} time {{}} in column {column!r} is not a time it can read; write "
        f"{TIMESTAMP_FORMATS_TRIED}",
        pl.col(column).cast(pl.String),
    )
    reason = (
        pl.when(pl.col(column).is_null()).then(pl.lit(f"no {kind} time")).otherwise(unread)
        if dtype == pl.String
        else pl.lit(f"no {kind} time")
    )
    return pl.col("_time").is_null(), reason


def _property_checks(frame: pl.DataFrame, properties: tuple[str, ...]) -> list:
    checks = []
    for name in properties:
        problem = property_name_problem(name)
        if problem:
            checks.append((pl.lit(True), pl.lit(problem)))
        elif frame.schema[name] == pl.String:
            checks.append(
                (
                    pl.col(name).str.len_chars() > MAX_NAME_CHARS,
                    pl.lit(f"property {name!r} longer than {MAX_NAME_CHARS} characters"),
                )
            )
    return checks


def _first_reason(checks: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The first failing check's reason, or null when every check passes."""
    reason = pl.lit(None, pl.String)
    for failed, text in reversed(checks):
        reason = pl.when(failed.fill_null(False)).then(text).otherwise(reason)
    return reason


def _with_key(frame: pl.DataFrame, kind: str, key: tuple[str, ...], name: pl.Expr) -> pl.DataFrame:
    """``event_key``: two stable 53-bit hashes (hashing.stable_text_key: of this text alone,
    whatever else the batch holds) of the kind, the name or product and the key columns' text,
    so one occurrence keeps its key on every run and machine."""
    text = frame.select(
        pl.concat_str(
            [
                pl.lit(kind),
                name.fill_null(""),
                *[pl.col(c).cast(pl.String).fill_null("\x00") for c in key],
            ],
            separator="\x1f",
        )
    ).to_series()
    return frame.with_columns(event_key=stable_text_key(text, KEY_SALT))


def _split(frame: pl.DataFrame, kind: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    refused = frame.filter(pl.col("_reason").is_not_null()).select(
        "event_key",
        pl.col(PERSON_ID).cast(pl.String),
        pl.lit(kind).alias("kind"),
        pl.col("_name").cast(pl.String).alias("name"),
        pl.col("_time").alias("time"),
        pl.col("_reason").alias("reason"),
    )
    return frame.filter(pl.col("_reason").is_null()), refused


def _event_frame(kept: pl.DataFrame, kind: str, properties: tuple[str, ...]) -> pl.DataFrame:
    purchase = kind == PURCHASE
    return kept.select(
        "event_key",
        pl.col(PERSON_ID).cast(pl.String),
        pl.lit(kind).alias("kind"),
        pl.col("_name").cast(pl.String).alias("name"),
        pl.col("_time").alias("time"),
        (pl.col("_currency") if purchase else pl.lit(None, pl.String)).alias("currency"),
        (pl.col("_price") if purchase else pl.lit(None, pl.Float64)).alias("price"),
        (pl.col("_quantity").cast(pl.Int64) if purchase else pl.lit(None, pl.Int64)).alias(
            "quantity"
        ),
        properties_json(kept, properties).alias("properties"),
        (pl.col("line_group") if purchase else pl.lit(None, pl.String)).alias("line_group"),
        (
            pl.when(pl.col("line_group").is_not_null()).then(pl.col(OCCURRENCE))
            if purchase
            else pl.lit(None, pl.Int64)
        ).alias("occurrence"),
        (pl.col("_first_unit") if purchase else pl.lit(None, pl.Int64)).alias("first_unit"),
    )


def _one_per_key(
    events: pl.DataFrame, refused: pl.DataFrame, key: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One occurrence per key: identical rows (same key, same content: an order line in two
    overlapping exports) are one; rows sharing a key with different content are all refused
    with a reason naming the key columns, none guessed at."""
    content = pl.struct(pl.exclude("event_key"))
    conflicting = events.select(content.n_unique().over("event_key") > 1).to_series()
    clashes = events.filter(conflicting)
    reason = (
        f"{DUPLICATE_KEY} ({', '.join(key)}) but "
        "different content; add the column that tells them apart to key:"
    )
    clash_rows = clashes.select(
        "event_key", PERSON_ID, "kind", "name", "time", pl.lit(reason).alias("reason")
    )
    kept = events.filter(~conflicting).unique("event_key", keep="first", maintain_order=True)
    return kept, pl.concat([refused, clash_rows], how="vertical_relaxed")


def properties_json(frame: pl.DataFrame, properties: tuple[str, ...]) -> pl.Expr:
    """The properties as one canonical JSON object per row: keys sorted, nulls left out, times
    as ISO 8601 UTC text (spec: property values may be datetimes, as ISO strings)."""
    members = []
    for name in sorted(set(properties)):
        value = pl.col(name)
        dtype = frame.schema[name]
        if isinstance(dtype, pl.Datetime):
            value = _as_utc(dtype, value).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        elif dtype == pl.Date:
            value = value.dt.strftime("%Y-%m-%d")
        member = pl.struct(value.alias(name)).struct.json_encode().str.slice(1)
        present = pl.col(name).is_not_null()
        if dtype.is_float():  # NaN and infinities are no JSON numbers: left out like nulls
            present = present & pl.col(name).is_finite()
        members.append(pl.when(present).then(member.str.head(-1)))
    if not members:
        return pl.lit("{}")
    inner = pl.concat_str(members, separator=",", ignore_nulls=True).fill_null("")
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])
