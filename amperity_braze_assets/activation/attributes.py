"""The Braze customer attributes: one row per person, one typed column per Braze field.

Plain polars, no Dagster. Standard fields come out as strings in Braze's formats (``dob`` as
YYYY-MM-DD, names and cities as written, title-cased only when written all in one case,
``gender`` M/F/O/N/P, ...); custom attributes as their declared
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
from collections.abc import Callable

import polars as pl

from amperity_braze_assets.activation import nested_attributes, spec_rules, subscriptions
from amperity_braze_assets.activation.audiences import (
    ENGINE,
    align_to,
    condition_expr,
    people_frame,
)
from amperity_braze_assets.activation.config import (
    AUDIENCES,
    CUSTOMER_360,
    PERSON_ID,
    AttributeConfig,
    AttributeSpec,
)
from amperity_braze_assets.braze_fields import (
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
MAX_FLAGGED_AUDIENCES = 62  # audiences tracked as bits of an Int64 mask
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
    if spec.nested is not None:  # Object, ArrayOfObjects: a Struct, or a List of one
        return spec.nested.dtype
    return pl.String() if spec.standard else CUSTOM_DTYPES[spec.braze_type]


# -- raw values -----------------------------------------------------------------------------------
def _raw_expr(spec: AttributeSpec, as_of: dt.datetime, schema: dict[str, pl.DataType]) -> pl.Expr:
    """The field's value before casting: a column, a constant, or the first matching case."""
    if spec.nested is not None:
        return nested_attributes.raw_expr(spec)
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
    if isinstance(dtype, pl.Struct) or (
        isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)
    ):
        return nested_attributes.as_text(raw, dtype)
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
# A value is built first and its reason is then computed from the built column (``Reason``), so
# the value's string work (strip, case, formatting) runs once per row, not once per use.
Reason = Callable[[pl.Expr], pl.Expr]
DATE_REASON = "not a real YYYY-MM-DD date"  # standard_problem_expr's reason for `date` fields


def _standard(spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, Reason]:
    kind = spec.braze_type
    if kind == "date" and (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        date = raw.dt.date() if isinstance(dtype, pl.Datetime) else raw
        text = _as_text(date, pl.Date())
        # %Y writes years 0-9999 as four digits (a valid YYYY-MM-DD) and others with a sign or a
        # fifth digit (invalid): the year decides, without parsing the text back.
        year = date.dt.year()
        return text, lambda _: _reason(~year.is_between(0, 9999), DATE_REASON)
    text = _as_text(raw, dtype).str.strip_chars()
    text = pl.when(text != "").then(text)  # an empty string is no value
    if spec.name in TITLE_CASED:
        text = title_case_if_uniform(text)
    elif kind in ("email", "language", "subscription"):
        text = text.str.to_lowercase()
    elif kind == "gender":
        text = text.str.to_uppercase().replace(GENDER_WORDS)
    elif kind == "country":
        text = text.str.to_uppercase().replace(COUNTRY_WORDS)
    return text, lambda value: standard_problem_expr(spec.name, value)


def title_case_if_uniform(text: pl.Expr) -> pl.Expr:
    """A name or city written all upper or all lower case (SØREN, o'connor) title-cased
    (Søren, O'Connor, Anne-Marie); one written in mixed case (McDonald, van der Berg) kept as
    written. Letters are never dropped or folded; a possessive stays lower (Macy's)."""
    uniform = (text == text.str.to_uppercase()) | (text == text.str.to_lowercase())
    titled = text.str.to_titlecase().str.replace_all(r"(\p{L}['’])S\b", "${1}s")
    return pl.when(uniform).then(titled).otherwise(text)


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


def _boolean_value(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        value = raw
    elif dtype == pl.String:
        words = raw.str.strip_chars().str.to_lowercase()
        value = (
            pl.when(words.is_in(TRUE_WORDS)).then(True).when(words.is_in(FALSE_WORDS)).then(False)
        )
    elif dtype.is_numeric():
        value = pl.when(raw == 1).then(True).when(raw == 0).then(False)
    else:
        value = pl.lit(None, pl.Boolean)
    return value.cast(pl.Boolean)


def _integer_value(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_integer() or dtype == pl.Boolean:
        return raw.cast(pl.Int64, strict=False)
    if dtype.is_float():
        return pl.when(raw == raw.round(0)).then(raw).cast(pl.Int64, strict=False)
    if dtype == pl.String:
        return raw.str.strip_chars().cast(pl.Int64, strict=False)
    return pl.lit(None, pl.Int64)


def _number_value(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_numeric():
        number = raw.cast(pl.Float64)
    elif dtype == pl.String:
        number = raw.str.strip_chars().cast(pl.Float64, strict=False)
    else:
        number = pl.lit(None, pl.Float64)
    return pl.when(number.is_finite()).then(number)  # JSON has no NaN or infinity


def _date_value(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
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
    # year 0 or past 9999 parses in polars but is no date Braze (or Python) can hold
    return pl.when(value.dt.year().is_between(1, 9999)).then(value)


def _datetime_value(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
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
    return pl.when(value.dt.year().is_between(1, 9999)).then(value)


# Per custom type: how a source column becomes the typed value, and why a present value that
# comes out null is invalid. (Text and arrays are judged by length instead, in ``_custom``.)
_TYPED_VALUES: dict[str, tuple[Callable[[pl.Expr, pl.DataType], pl.Expr], str]] = {
    "Boolean": (_boolean_value, "not a boolean (true/false, yes/no, 1/0)"),
    "Integer": (_integer_value, "not a whole number that fits in 64 bits"),
    "Float": (_number_value, "not a finite number"),
    "Decimal": (_number_value, "not a finite number"),
    "Date": (_date_value, "not a real YYYY-MM-DD date"),
    "Datetime": (_datetime_value, "not an ISO-8601 date and time"),
}


def _typed(kind: str, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A column read as a custom type (an object's typed field): text as is, others converted."""
    if kind == "String":
        return _as_text(raw, dtype)
    return _TYPED_VALUES[kind][0](raw, dtype)


def _custom(spec: AttributeSpec, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, Reason]:
    """(typed value, reason it is invalid or null, from the typed value) for a custom attribute.
    Where the reason is set the value is sent as null."""
    if spec.nested is not None:
        return nested_attributes.value_and_reason(
            spec, raw, dtype, lambda kind, value, source: _typed(kind, value, source)
        )
    braze_type = spec.braze_type
    present = raw.is_not_null()
    if spec.buckets:
        raw, bucket_reason = _bucketed(spec, raw)
        dtype = pl.String()
    else:
        bucket_reason = None
    if braze_type in _TYPED_VALUES:
        convert, message = _TYPED_VALUES[braze_type]
        value = convert(raw, dtype)
        if braze_type == "Decimal":
            value = value.round(spec.scale)
        reason = lambda value: _reason(present & value.is_null(), message)  # noqa: E731
    elif braze_type in ("String", "Varchar"):
        value = _as_text(raw, dtype)
        limit = spec.length if braze_type == "Varchar" else MAX_STRING_CHARS
        too_long = f"longer than {limit} characters"
        reason = lambda value: _reason(value.str.len_chars() > limit, too_long)  # noqa: E731
    else:  # Array: a list of strings, each within Braze's string limit
        if isinstance(dtype, pl.List):
            value = raw.cast(pl.List(pl.String))
        else:
            value = pl.when(present).then(pl.concat_list(_as_text(raw, dtype)))
        too_long = f"an element is longer than {MAX_STRING_CHARS} characters"
        reason = lambda value: _reason(  # noqa: E731
            value.list.eval(pl.element().str.len_chars() > MAX_STRING_CHARS)
            .list.any()
            .fill_null(False),
            too_long,
        )
    if bucket_reason is not None:
        value_reason = reason
        reason = lambda value: pl.coalesce(bucket_reason, value_reason(value))  # noqa: E731
    return value.cast(CUSTOM_DTYPES[braze_type]), reason


# -- the table ---------------------------------------------------------------------------------
def _audience_columns(
    memberships: pl.DataFrame | None, config: AttributeConfig
) -> tuple[pl.LazyFrame, dict[str, str]] | None:
    """Per member (control group excluded): the list of their audiences and SQL extra columns,
    and the name of a Boolean column per audience name (in it or not), when there is one."""
    if not config.audiences:
        return None
    extra = list(config.schemas.get(AUDIENCES, {}))
    if memberships is None:
        raise ValueError("the configuration defines audiences: pass their memberships table.")
    members = memberships.lazy().filter(~pl.col("in_control_group"))
    extras = [c for c in extra if c in memberships.columns]
    first = [pl.col(c).drop_nulls().first().alias(f"{AUDIENCES}.{c}") for c in extras]
    names = memberships["audience"].unique().sort()
    if names.null_count() or not 0 < names.len() <= MAX_FLAGGED_AUDIENCES:
        # not from build_audiences, or too many names for a bit mask: a list per person
        return members.group_by(PERSON_ID).agg(
            pl.col("audience").unique().sort().alias("_audiences"), *first
        ), {}
    # A flag per audience (cheap aggregations) and a bit mask of them; the sorted list of names
    # is built once per distinct mask (few), not once per person.
    flags = {name: f"_in.{i}" for i, name in enumerate(names)}
    per_person = (
        members.group_by(PERSON_ID)
        .agg(*((pl.col("audience") == name).any().alias(f) for name, f in flags.items()), *first)
        .with_columns(
            pl.sum_horizontal(
                pl.when(pl.col(f)).then(pl.lit(1 << i, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
                for i, f in enumerate(flags.values())
            ).alias("_mask")
        )
    )
    lists = (
        per_person.select("_mask")
        .unique()
        .with_columns(
            pl.concat_list(
                pl.when((pl.col("_mask") & (1 << i)) != 0).then(pl.lit(name, pl.String))
                for i, name in enumerate(flags)
            )
            .list.drop_nulls()
            .alias("_audiences")
        )
    )
    return per_person.join(lists, on="_mask", how="left").drop("_mask"), flags


def _rejects(
    built: pl.LazyFrame,
    mapping: AttributeConfig,
    raw_names: dict[str, str],
    schema: dict[str, pl.DataType],
    tables: dict[str, pl.DataFrame],
) -> pl.LazyFrame:
    """One row per (person, field) with a reason, in field order then person order: the rows
    with any reason are picked first (few), then every field becomes a (value, reason, action)
    struct and one unpivot turns them into rows. Then the rows of arrays of objects that made
    no element (no id: ``nested_attributes.null_id_rejects``)."""
    reason_names = [f"_reason.{mapping.identifier}", *(f"_reason.{s.name}" for s in mapping.fields)]
    fields = [
        (mapping.identifier, pl.col("_identifier"), "hold_row"),
        *(
            (s.name, _as_text(pl.col(raw_names[s.name]), schema[raw_names[s.name]]), s.on_invalid)
            for s in mapping.fields
        ),
    ]
    structs = [
        pl.struct(
            value.cast(pl.String).alias("value"),
            pl.col(reason).cast(pl.String).alias("reason"),
            pl.lit(action, pl.String).alias("action"),
        ).alias(name)
        for (name, value, action), reason in zip(fields, reason_names, strict=True)
    ]
    index = "_person"
    while index in {name for name, _, _ in fields}:  # a name no field has
        index += "_"
    rows = (
        built.filter(pl.any_horizontal(pl.col(r).is_not_null() for r in reason_names))
        .select(pl.col("_person").alias(index), *structs)
        .unpivot(index=index, variable_name="field", value_name=index + "reject")
        .unnest(index + "reject")
        .filter(pl.col("reason").is_not_null())
        .select(
            pl.col(index).cast(pl.String).alias("external_id"),
            pl.col("field").cast(pl.String),
            "value",
            "reason",
            "action",
        )
    )
    return pl.concat([rows, nested_attributes.null_id_rejects(tables, mapping)])


def _people_with_audiences(
    tables: dict[str, pl.DataFrame],
    memberships: pl.DataFrame | None,
    mapping: AttributeConfig,
    columns: set[str],
) -> tuple[pl.LazyFrame, dict[str, str]]:
    """The people with the columns the mapping reads and, when there are audiences, their
    audience list and flags (aligned by joining the ids only); the flag column per audience."""
    people = people_frame(tables, columns, mapping.schemas)
    audience_columns = _audience_columns(memberships, mapping)
    if audience_columns is None:
        return people, {}
    per_person, flags = audience_columns
    ids = tables[CUSTOMER_360].select(PERSON_ID)
    aligned = align_to(ids, per_person).drop(PERSON_ID).lazy()
    return pl.concat([people, aligned], how="horizontal"), flags


def _identifier_reason(mapping: AttributeConfig) -> pl.Expr:
    """Why a person's identifier cannot be sent: missing (and no alias, when one is declared:
    they can be sent by alias), or longer than Braze takes."""
    missing = pl.col("_identifier").is_null()
    reason = f"{mapping.identifier} is null"
    if mapping.alias_columns:
        missing = missing & pl.col("alias_name").is_null()
        reason += f" and so is the alias ({mapping.alias_name_source}): no identifier to send"
    return (
        pl.when(missing)
        .then(pl.lit(reason))
        .when(pl.col("_identifier").str.len_bytes() > MAX_EXTERNAL_ID_BYTES)
        .then(pl.lit(f"{mapping.identifier} longer than {MAX_EXTERNAL_ID_BYTES} bytes"))
        .alias(f"_reason.{mapping.identifier}")
    )


def _alias_exprs(mapping: AttributeConfig) -> list[pl.Expr]:
    """alias_name and alias_label, when an alias is declared (an empty name is no alias)."""
    if not mapping.alias_columns:
        return []
    name = pl.col(mapping.alias_name_source).cast(pl.String).str.strip_chars()
    label = (
        pl.col(mapping.alias_label_source).cast(pl.String)
        if mapping.alias_label_source
        else pl.lit(mapping.alias_label, pl.String)
    )
    return [pl.when(name != "").then(name).alias("alias_name"), label.alias("alias_label")]


def _with_consent(
    attributes: pl.DataFrame,
    people: pl.LazyFrame,
    mapping: AttributeConfig,
    braze_events: pl.DataFrame | None,
    figures: subscriptions.ConsentFigures | None,
) -> pl.DataFrame:
    """The attributes with the consent columns (in the people's order, as the attributes)."""
    sources = sorted({c for spec in mapping.subscriptions for c in spec.columns()})
    frame = people.select(PERSON_ID, *sources).collect(engine=ENGINE)
    consent = subscriptions.consent_columns(
        frame,
        PERSON_ID,
        mapping.subscriptions,
        braze_events,
        figures if figures is not None else subscriptions.ConsentFigures(),
    )
    return pl.concat([attributes, consent], how="horizontal")


def _audience_values(mapping: AttributeConfig, flags: dict[str, str]) -> list[pl.Expr]:
    """One Boolean per audience (a member outside the control group), and the audience array."""
    if not mapping.audiences:
        return []
    listed = pl.col("_audiences").fill_null(pl.lit([], pl.List(pl.String)))
    values = [
        (
            pl.col(flags[a.name]).fill_null(False)
            if a.name in flags
            else pl.lit(False)
            if flags
            else listed.list.contains(pl.lit(a.name))
        ).alias(a.attribute)
        for a in mapping.audiences
    ]
    if mapping.audience_array:
        values.append(listed.alias(mapping.audience_array))
    return values


def _typed_values(
    mapping: AttributeConfig, raw_names: dict[str, str], schema: dict[str, pl.DataType]
) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    """Per field its typed value (``_typed.<name>``) and why it is refused (``_reason.<name>``,
    null: valid), from its raw column; and what holds a row back: an invalid identifier, or an
    invalid value of a ``hold_row`` field."""
    typed, reasons = [], []
    for spec in mapping.fields:
        raw, dtype = pl.col(raw_names[spec.name]), schema[raw_names[spec.name]]
        value, reason = (_standard if spec.standard else _custom)(spec, raw, dtype)
        typed.append(value.alias(f"_typed.{spec.name}"))
        reasons.append(reason(pl.col(f"_typed.{spec.name}")).alias(f"_reason.{spec.name}"))
    hold = [pl.col(f"_reason.{mapping.identifier}").is_not_null()] + [
        pl.col(f"_reason.{s.name}").is_not_null()
        for s in mapping.fields
        if s.on_invalid == "hold_row"
    ]
    return typed, reasons, hold


def build_braze_attributes(
    tables: dict[str, pl.DataFrame],
    memberships: pl.DataFrame | None,
    mapping: AttributeConfig,
    as_of: dt.datetime | None = None,
    braze_events: pl.DataFrame | None = None,
    consent_figures: subscriptions.ConsentFigures | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(attributes, rejects). ``tables`` holds ``customer_360`` (who the people are) and the
    other tables the mapping reads; ``memberships`` is ``build_audiences``' output; ``as_of``
    anchors relative dates in ``cases`` (default: now); ``braze_events`` and ``consent_figures``:
    see ``subscriptions.consent_columns``."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    columns = {c for c in mapping.referenced_columns() if not c.startswith(f"{AUDIENCES}.")}
    # People in customer_360's order (other tables aligned to it by joining the ids only), then
    # one lazy plan: raw values, typed values, reasons, collected once; the attributes and the
    # rejects are cut from that frame.
    people, flags = _people_with_audiences(tables, memberships, mapping, columns)
    people = nested_attributes.with_arrays(people, tables, mapping)
    schema = people.collect_schema()

    # Raw values first, so each cast knows the dtype it starts from.
    raw_names = {spec.name: f"_raw.{spec.name}" for spec in mapping.fields}
    identifier_raw = pl.col(mapping.identifier_source).cast(pl.String)
    people = people.with_columns(
        pl.col(PERSON_ID).alias("_person"),
        identifier_raw.alias("_identifier"),
        *_alias_exprs(mapping),
        *(_raw_expr(spec, as_of, schema).alias(raw_names[spec.name]) for spec in mapping.fields),
    )
    schema = dict(people.collect_schema())
    typed, reasons, hold = _typed_values(mapping, raw_names, schema)
    built = (
        people.with_columns(*typed, _identifier_reason(mapping), *_audience_values(mapping, flags))
        .with_columns(*reasons)
        .with_columns(
            *(
                pl.when(pl.col(f"_reason.{s.name}").is_null())
                .then(pl.col(f"_typed.{s.name}"))
                .alias(s.name)
                for s in mapping.fields
            ),
            pl.any_horizontal(hold).alias("_held"),
        )
    )
    output = [
        pl.col("_identifier").alias(mapping.identifier),
        *(pl.col(c) for c in mapping.alias_columns),
        *(pl.col(s.name).cast(output_dtype(s)) for s in mapping.fields),
        *(pl.col(a.attribute) for a in mapping.audiences),
        *([pl.col(mapping.audience_array)] if mapping.audiences and mapping.audience_array else []),
    ]
    keep = [
        "_person",
        "_held",
        "_identifier",
        *raw_names.values(),
        f"_reason.{mapping.identifier}",
        *(f"_reason.{s.name}" for s in mapping.fields),
    ]
    frame = built.select(*output, *keep).collect(engine=ENGINE)
    rejects = _rejects(frame.lazy(), mapping, raw_names, schema, tables).collect(engine=ENGINE)
    attributes = frame.select(c.meta.output_name() for c in output)
    if mapping.subscriptions:
        attributes = _with_consent(attributes, people, mapping, braze_events, consent_figures)
    held = frame.get_column("_held")
    # A ready mask, and only when a row is held: an expression filter over millions of wide
    # rows held gigabytes more than the rows it kept.
    if held.any():
        attributes = attributes.filter(~held)
    return attributes, rejects


# -- validation of the output (the asset check) -----------------------------------------------
def invalid_value_counts(attributes: pl.DataFrame, mapping: AttributeConfig) -> dict[str, str]:
    """Columns holding values Braze would refuse or misread, with what is wrong; empty when
    every value is valid for its declared type.

    Judged by ``spec_rules`` (written from the Braze spec), never by the ``braze_fields``
    predicates that built and nulled the values: a mistake there must show here."""
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
            bad = spec_rules.refused_standard_value(spec.name, column)
        elif spec.braze_type in ("String", "Varchar"):
            limit = spec.length if spec.braze_type == "Varchar" else spec_rules.MAX_STRING_CHARS
            bad = column.str.len_chars() > limit
        elif spec.braze_type in ("Float", "Decimal"):
            bad = ~column.is_finite()
            if spec.braze_type == "Decimal":
                bad = bad | (column != column.round(spec.scale))
        elif spec.braze_type == "Array":
            too_long = pl.element().str.len_chars() > spec_rules.MAX_STRING_CHARS
            bad = column.list.eval(too_long).list.any()
        elif spec.nested is not None:
            bad = nested_attributes.refused(column, spec)
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
