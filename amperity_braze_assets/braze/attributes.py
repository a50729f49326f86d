"""The Braze customer attributes: one row per person, one typed column per Braze field.

Plain polars, no Dagster. Standard fields come out as strings in Braze's formats (``dob`` as
YYYY-MM-DD, names title-cased, ``gender`` M/F/O/N/P, ...); custom attributes as their declared
type: Boolean, pl.Date, pl.Datetime('us', 'UTC'), Decimal as Float64 rounded to its scale (Braze
stores JSON numbers, so an exact decimal type would buy nothing on the wire), Float64, Int64,
String, and List(String) for arrays. Each audience is a Boolean that is false for everyone outside
it (control group included), so leaving an audience reaches Braze.

A value that cannot be made valid is never dropped silently: per the field's ``on_invalid`` the
field is nulled (``null_field``) or the person's whole row is held back (``hold_row``), and every
case is a row of the rejects table (``external_id`` = the person's amperity_id, ``field``,
``value`` as text, ``reason``, ``action``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from amperity_braze_assets.braze.attribute_config import (
    AUDIENCES,
    PERSON_ID,
    AttributeConfig,
    AttributeSpec,
)
from amperity_braze_assets.braze.audiences import condition_expr, people_frame
from amperity_braze_assets.braze.fields import (
    MAX_EXTERNAL_ID_BYTES,
    MAX_STRING_CHARS,
    standard_problem_expr,
)

REJECT_SCHEMA = {
    "external_id": pl.String,
    "field": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "action": pl.String,
}
UTC_DATETIME = pl.Datetime("us", "UTC")
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
TITLE_CASED = ("first_name", "last_name", "home_city")
GENDER_WORDS = {
    "MALE": "M",
    "FEMALE": "F",
    "OTHER": "O",
    "NOT APPLICABLE": "N",
    "PREFER NOT TO SAY": "P",
}
COUNTRY_WORDS = {"USA": "US", "UNITED STATES": "US", "UK": "GB", "UNITED KINGDOM": "GB"}
ISO_DATETIME_FORMATS_WITH_ZONE = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
ISO_DATETIME_FORMATS_NAIVE = (  # a time without zone is UTC, as Braze reads it
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)
CUSTOM_DTYPES: dict[str, pl.DataType] = {
    "Boolean": pl.Boolean(),
    "Date": pl.Date(),
    "Datetime": UTC_DATETIME,
    "Decimal": pl.Float64(),
    "Float": pl.Float64(),
    "Integer": pl.Int64(),
    "String": pl.String(),
    "Varchar": pl.String(),
    "Array": pl.List(pl.String),
}


def output_dtype(spec: AttributeSpec) -> pl.DataType:
    return pl.String() if spec.standard else CUSTOM_DTYPES[spec.braze_type]


# -- raw values -----------------------------------------------------------------------------------
def _raw_expr(spec: AttributeSpec, as_of: dt.datetime, schema: dict[str, pl.DataType]) -> pl.Expr:
    """The field's value before casting: a column, a constant, or the first matching case."""
    if spec.cases:
        expr = None
        for case in spec.cases:
            test = condition_expr(case.condition, as_of, schema)
            expr = (pl.when(test) if expr is None else expr.when(test)).then(pl.lit(case.value))
        return expr.otherwise(pl.lit(spec.default))
    if spec.source is not None:
        return pl.col(spec.source)
    return pl.lit(spec.value)


def _as_text(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as text for the rejects table (and for String attributes of other types)."""
    if isinstance(dtype, pl.Datetime):
        zoned = raw.dt.convert_time_zone("UTC") if dtype.time_zone else raw
        return zoned.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ")
    if dtype == pl.Date:
        return raw.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.List | pl.Array):
        return raw.cast(pl.List(pl.String)).list.join(",")
    if dtype == pl.Null:
        return pl.lit(None, pl.String)
    return raw.cast(pl.String)


def _reason(bad: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(bad).then(pl.lit(reason)).otherwise(pl.lit(None, pl.String))


# -- standard fields ----------------------------------------------------------------------------
def _standard(spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    kind = spec.braze_type
    if kind == "date" and (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        text = _as_text(raw.dt.date() if isinstance(dtype, pl.Datetime) else raw, pl.Date())
    else:
        text = _as_text(raw, dtype).str.strip_chars()
    text = pl.when(text != "").then(text)  # an empty string is no value
    if spec.name in TITLE_CASED:
        text = text.str.to_titlecase()  # our names and cities are stored upper case
    elif kind in ("email", "language", "subscription"):
        text = text.str.to_lowercase()
    elif kind == "gender":
        text = text.str.to_uppercase().replace(GENDER_WORDS)
    elif kind == "country":
        text = text.str.to_uppercase().replace(COUNTRY_WORDS)
    return text, standard_problem_expr(spec.name, text)


# -- custom attributes -------------------------------------------------------------------------------
def _bucketed(spec: AttributeSpec, raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    number = raw.cast(pl.Float64, strict=False)
    expr = None
    for bucket in spec.buckets:
        test = pl.lit(True) if bucket.upper is None else number <= bucket.upper
        expr = (pl.when(test) if expr is None else expr.when(test)).then(pl.lit(bucket.label))
    labelled = pl.when(number.is_not_null()).then(expr.otherwise(pl.lit(None, pl.String)))
    last = spec.buckets[-1].upper
    return labelled, _reason(
        number.is_not_null() & labelled.is_null(), f"above the last bucket ({last})"
    )


def _custom(spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, reason it is invalid or null) for a custom attribute."""
    braze_type = spec.braze_type
    present = raw.is_not_null()
    if spec.buckets:
        raw, bucket_reason = _bucketed(spec, raw)
        dtype = pl.String()
    else:
        bucket_reason = None
    if braze_type == "Boolean":
        if dtype == pl.Boolean:
            value = raw
        elif dtype == pl.String:
            words = raw.str.strip_chars().str.to_lowercase()
            value = (
                pl.when(words.is_in(TRUE_WORDS))
                .then(True)
                .when(words.is_in(FALSE_WORDS))
                .then(False)
            )
        elif dtype.is_numeric():
            value = pl.when(raw == 1).then(True).when(raw == 0).then(False)
        else:
            value = pl.lit(None, pl.Boolean)
        value = value.cast(pl.Boolean)
        reason = _reason(present & value.is_null(), "not a boolean (true/false, yes/no, 1/0)")
    elif braze_type == "Integer":
        if dtype.is_integer() or dtype == pl.Boolean:
            value = raw.cast(pl.Int64, strict=False)
        elif dtype.is_float():
            value = pl.when(raw == raw.round(0)).then(raw).cast(pl.Int64, strict=False)
        elif dtype == pl.String:
            value = raw.str.strip_chars().cast(pl.Int64, strict=False)
        else:
            value = pl.lit(None, pl.Int64)
        reason = _reason(present & value.is_null(), "not a whole number that fits in 64 bits")
    elif braze_type in ("Float", "Decimal"):
        if dtype.is_numeric():
            number = raw.cast(pl.Float64)
        elif dtype == pl.String:
            number = raw.str.strip_chars().cast(pl.Float64, strict=False)
        else:
            number = pl.lit(None, pl.Float64)
        number = pl.when(number.is_finite()).then(number)  # JSON has no NaN or infinity
        value = number.round(spec.scale) if braze_type == "Decimal" else number
        reason = _reason(present & value.is_null(), "not a finite number")
    elif braze_type in ("String", "Varchar"):
        value = _as_text(raw, dtype)
        limit = spec.length if braze_type == "Varchar" else MAX_STRING_CHARS
        too_long = value.str.len_chars() > limit
        reason = _reason(too_long, f"longer than {limit} characters")
        value = pl.when(~too_long).then(value)
    elif braze_type == "Date":
        if dtype == pl.Date:
            value = raw
        elif isinstance(dtype, pl.Datetime):
            value = (raw.dt.convert_time_zone("UTC") if dtype.time_zone else raw).dt.date()
        elif dtype == pl.String:
            text = raw.str.strip_chars()
            value = pl.when(text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")).then(
                text.str.to_date("%Y-%m-%d", strict=False)
            )
        else:
            value = pl.lit(None, pl.Date)
        reason = _reason(present & value.is_null(), "not a real YYYY-MM-DD date")
    elif braze_type == "Datetime":
        if isinstance(dtype, pl.Datetime):
            value = raw.dt.cast_time_unit("us")
            value = (
                value.dt.convert_time_zone("UTC")
                if dtype.time_zone
                else value.dt.replace_time_zone("UTC")
            )
        elif dtype == pl.Date:
            value = raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        elif dtype == pl.String:
            text = raw.str.strip_chars()
            value = pl.coalesce(
                [
                    *(
                        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
                        for f in ISO_DATETIME_FORMATS_WITH_ZONE
                    ),
                    *(
                        text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone(
                            "UTC"
                        )
                        for f in ISO_DATETIME_FORMATS_NAIVE
                    ),
                ]
            )
        else:
            value = pl.lit(None, UTC_DATETIME)
        reason = _reason(present & value.is_null(), "not an ISO-8601 date and time")
    else:  # Array: a list of strings, each within Braze's string limit
        if isinstance(dtype, pl.List):
            value = raw.cast(pl.List(pl.String))
        else:
            value = pl.when(present).then(pl.concat_list(_as_text(raw, dtype)))
        too_long = value.list.eval(pl.element().str.len_chars() > MAX_STRING_CHARS).list.any()
        reason = _reason(
            too_long.fill_null(False), f"an element is longer than {MAX_STRING_CHARS} characters"
        )
        value = pl.when(~too_long.fill_null(False)).then(value)
    if bucket_reason is not None:
        reason = pl.coalesce(bucket_reason, reason)
    return value.cast(CUSTOM_DTYPES[braze_type]), reason


# -- the table ---------------------------------------------------------------------------------
def _audience_columns(
    memberships: pl.DataFrame | None, config: AttributeConfig
) -> pl.LazyFrame | None:
    """Per member (control group excluded): the list of their audiences and SQL extra columns."""
    if not config.audiences:
        return None
    extra = list(config.schemas.get(AUDIENCES, {}))
    if memberships is None:
        raise ValueError("the configuration defines audiences: pass their memberships table.")
    members = memberships.lazy().filter(~pl.col("in_control_group"))
    return members.group_by(PERSON_ID).agg(
        pl.col("audience").unique().sort().alias("_audiences"),
        *[
            pl.col(c).drop_nulls().first().alias(f"{AUDIENCES}.{c}")
            for c in extra
            if c in memberships.columns
        ],
    )


def build_braze_attributes(
    tables: dict[str, pl.DataFrame],
    memberships: pl.DataFrame | None,
    mapping: AttributeConfig,
    as_of: dt.datetime | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(attributes, rejects). ``tables`` holds ``customer_360`` (who the people are) and the
    other tables the mapping reads; ``memberships`` is ``build_audiences``' output; ``as_of``
    anchors relative dates in ``cases`` (default: now)."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    columns = {c for c in mapping.referenced_columns() if not c.startswith(f"{AUDIENCES}.")}
    people = people_frame(tables, columns, mapping.schemas)
    audience_columns = _audience_columns(memberships, mapping)
    if audience_columns is not None:
        people = people.join(audience_columns, on=PERSON_ID, how="left", maintain_order="left")
    schema = people.collect_schema()

    # Raw values first, so each cast knows the dtype it starts from.
    raw_names = {spec.name: f"_raw.{spec.name}" for spec in mapping.fields}
    identifier_raw = pl.col(mapping.identifier_source).cast(pl.String)
    people = people.with_columns(
        identifier_raw.alias("_identifier"),
        *(_raw_expr(spec, as_of, schema).alias(raw_names[spec.name]) for spec in mapping.fields),
    )
    # Each stage is collected so the next reads columns instead of re-evaluating expressions.
    people = people.collect()
    schema = people.schema
    typed, reasons = [], []
    for spec in mapping.fields:
        raw, dtype = pl.col(raw_names[spec.name]), schema[raw_names[spec.name]]
        value, reason = (_standard if spec.standard else _custom)(spec, raw, dtype)
        typed.append(value.alias(f"_typed.{spec.name}"))
        reasons.append(reason.alias(f"_reason.{spec.name}"))
    identifier_reason = (
        pl.when(pl.col("_identifier").is_null())
        .then(pl.lit(f"{mapping.identifier} is null"))
        .when(pl.col("_identifier").str.len_bytes() > MAX_EXTERNAL_ID_BYTES)
        .then(pl.lit(f"{mapping.identifier} longer than {MAX_EXTERNAL_ID_BYTES} bytes"))
        .alias(f"_reason.{mapping.identifier}")
    )
    hold = [pl.col(f"_reason.{mapping.identifier}").is_not_null()] + [
        pl.col(f"_reason.{s.name}").is_not_null()
        for s in mapping.fields
        if s.on_invalid == "hold_row"
    ]
    audience_values = []
    if mapping.audiences:
        listed = pl.col("_audiences").fill_null(pl.lit([], pl.List(pl.String)))
        audience_values = [
            listed.list.contains(pl.lit(a.name)).alias(a.attribute) for a in mapping.audiences
        ]
        if mapping.audience_array:
            audience_values.append(listed.alias(mapping.audience_array))
    built = people.with_columns(*typed, *reasons, identifier_reason, *audience_values)
    built = built.with_columns(
        *(
            pl.when(pl.col(f"_reason.{s.name}").is_null())
            .then(pl.col(f"_typed.{s.name}"))
            .alias(s.name)
            for s in mapping.fields
        ),
        pl.any_horizontal(hold).alias("_held"),
    )

    reject_parts = [
        built.lazy()
        .filter(pl.col(f"_reason.{mapping.identifier}").is_not_null())
        .select(
            pl.col(PERSON_ID).alias("external_id"),
            pl.lit(mapping.identifier).alias("field"),
            pl.col("_identifier").alias("value"),
            pl.col(f"_reason.{mapping.identifier}").alias("reason"),
            pl.lit("hold_row").alias("action"),
        )
    ]
    for spec in mapping.fields:
        reason = pl.col(f"_reason.{spec.name}")
        reject_parts.append(
            built.lazy()
            .filter(reason.is_not_null())
            .select(
                pl.col(PERSON_ID).alias("external_id"),
                pl.lit(spec.name).alias("field"),
                _as_text(pl.col(raw_names[spec.name]), schema[raw_names[spec.name]]).alias("value"),
                reason.alias("reason"),
                pl.lit(spec.on_invalid).alias("action"),
            )
        )
    rejects = pl.concat(reject_parts).collect().cast(REJECT_SCHEMA)  # type: ignore[arg-type]

    attributes = built.filter(~pl.col("_held")).select(
        pl.col("_identifier").alias(mapping.identifier),
        *(pl.col(s.name).cast(output_dtype(s)) for s in mapping.fields),
        *(pl.col(a.attribute) for a in mapping.audiences),
        *([pl.col(mapping.audience_array)] if mapping.audiences and mapping.audience_array else []),
    )
    return attributes, rejects


# -- validation of the output (the asset check) -----------------------------------------------
def invalid_value_counts(attributes: pl.DataFrame, mapping: AttributeConfig) -> dict[str, str]:
    """Columns holding values Braze would refuse or misread, with what is wrong; empty when
    every value is valid for its declared type. Independent of how the values were built."""
    problems: dict[str, str] = {}
    for column in mapping.output_columns:
        if column not in attributes.columns:
            problems[column] = "missing"
    checks: list[pl.Expr] = []
    for spec in mapping.fields:
        if spec.name not in attributes.columns:
            continue
        expected = output_dtype(spec)
        actual = attributes.schema[spec.name]
        if actual != expected:
            problems[spec.name] = f"type {actual}, expected {expected}"
            continue
        column = pl.col(spec.name)
        if spec.standard:
            bad = standard_problem_expr(spec.name, column).is_not_null()
        elif spec.braze_type in ("String", "Varchar"):
            limit = spec.length if spec.braze_type == "Varchar" else MAX_STRING_CHARS
            bad = column.str.len_chars() > limit
        elif spec.braze_type in ("Float", "Decimal"):
            bad = ~column.is_finite()
            if spec.braze_type == "Decimal":
                bad = bad | (column != column.round(spec.scale))
        elif spec.braze_type == "Array":
            bad = column.list.eval(pl.element().str.len_chars() > MAX_STRING_CHARS).list.any()
        else:
            continue  # Boolean, Date, Datetime(UTC), Int64: the dtype is the check
        checks.append(bad.fill_null(False).sum().alias(spec.name))
    for audience in mapping.audiences:
        if audience.attribute in attributes.columns:
            column = pl.col(audience.attribute)
            if attributes.schema[audience.attribute] != pl.Boolean:
                problems[audience.attribute] = "not Boolean"
            else:
                checks.append(column.is_null().sum().alias(audience.attribute))
    if checks:
        counts = attributes.select(checks).row(0, named=True)
        for name, count in counts.items():
            if count:
                problems[name] = f"{count} invalid value(s)"
    return problems
