"""The semantic-tag vocabulary sources map their columns to (see shared/spec/cdp.md).

A tag names what a column means; the column it becomes is the tag with ``-`` turned into ``_``
(``given-name`` -> ``given_name``). ``fk`` and ``sk`` carry a key name (``fk:loyalty`` ->
``fk_loyalty``) so several keys can live side by side.
"""

from __future__ import annotations

CUSTOMER_TAGS: dict[str, str] = {
    tag: tag.replace("-", "_")
    for tag in (
        "given-name",
        "surname",
        "full-name",
        "email",
        "phone",
        "address",
        "address2",
        "city",
        "state",
        "postal",
        "country",
        "birthdate",
        "gender",
        "company",
        "generational-suffix",
        # When the source last changed the record: survivorship's "most recent" rule.
        "updated-at",
    )
}

# Tags of the person who bought, on a transaction source that carries no customer id (a web
# shop's orders name the buyer by email): each order's buyer becomes a customer record keyed by
# the order id, and the order counts for whoever that record resolves to.
BUYER_TAGS: dict[str, str] = {
    tag: column
    for tag, column in CUSTOMER_TAGS.items()
    # What an order says of a person: who and where, not when they were born or updated.
    if tag not in ("birthdate", "gender", "generational-suffix", "updated-at")
}

# Line-item tags: an export with one row per item keeps them in ``raw_<source>_lines``.
LINE_TAGS: dict[str, str] = {
    "sku": "sku",
    "product-name": "product_name",
    "quantity": "quantity",
    "price": "price",
    # The export's own id of the line item: a purchase is keyed by it (activation/events.py),
    # so an edited order's lines keep their keys whatever is added.
    "line-id": "line_id",
}

TRANSACTION_TAGS: dict[str, str] = {
    "order-id": "order_id",
    "customer-key": "customer_record_id",
    "customer-source": "customer_source",
    "amount": "amount",
    "currency": "currency",
    "order-time": "order_time",
    "channel": "channel",
    # Money that came back (subtracted from amount) and the order's state (an excluded state
    # does not count as spend: see ``exclude_statuses``).
    "refund": "refund",
    "status": "status",
    **BUYER_TAGS,
    **LINE_TAGS,
}

# Keys that take a name after a colon.
KEY_TAGS = ("fk", "sk")

SOURCE_KINDS = ("customers", "transactions")

# Tags a transaction source must map; without them an order cannot be summed. It must also
# say whose it is: a ``customer-key`` or at least one identifying buyer tag.
REQUIRED_TRANSACTION_TAGS = ("order-id", "amount", "order-time")
IDENTIFYING_BUYER_TAGS = ("email", "phone", "full-name", "given-name", "surname")


def column_for_tag(tag: str) -> str:
    """The common column name a tag becomes (``fk:loyalty`` -> ``fk_loyalty``)."""
    if ":" in tag:
        kind, name = tag.split(":", 1)
        return f"{kind}_{name}"
    return CUSTOMER_TAGS.get(tag) or TRANSACTION_TAGS[tag]


# Timestamp tags: per-column ``formats:`` apply to them.
TIME_TAGS = ("order-time", "updated-at")
