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

TRANSACTION_TAGS: dict[str, str] = {
    "order-id": "order_id",
    "customer-key": "customer_record_id",
    "customer-source": "customer_source",
    "amount": "amount",
    "currency": "currency",
    "order-time": "order_time",
    "channel": "channel",
}

# Keys that take a name after a colon.
KEY_TAGS = ("fk", "sk")

SOURCE_KINDS = ("customers", "transactions")

# Tags a transaction source must map; without them an order cannot be attributed or summed.
REQUIRED_TRANSACTION_TAGS = ("order-id", "customer-key", "amount", "order-time")


def column_for_tag(tag: str) -> str:
    """The common column name a tag becomes (``fk:loyalty`` -> ``fk_loyalty``)."""
    if ":" in tag:
        kind, name = tag.split(":", 1)
        return f"{kind}_{name}"
    return CUSTOMER_TAGS.get(tag) or TRANSACTION_TAGS[tag]
