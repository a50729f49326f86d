"""The sample retailer's product catalogue, for the line items of the sample orders.

Plain data, like sample_names: no randomness here (the generator draws from it).
"""

from __future__ import annotations

# (sku, product name, list price in cents), cheapest first. No commas or quotes: the
# generator writes its CSV lines without quoting.
CATALOGUE: tuple[tuple[str, str, int], ...] = (
    ("ACC-SOCK-03", "Merino socks", 1400),
    ("HOM-CNDL-01", "Cedar candle", 1800),
    ("ACC-BEAN-02", "Ribbed beanie", 2200),
    ("TOP-TEE-01", "Organic cotton tee", 2400),
    ("HOM-MUG-02", "Stoneware mug set", 2800),
    ("ACC-BELT-01", "Leather belt", 3500),
    ("TOP-HNLY-04", "Waffle henley", 3900),
    ("ACC-SCRF-05", "Wool scarf", 4500),
    ("BTM-CHNO-02", "Slim chinos", 5900),
    ("TOP-FLNL-03", "Flannel shirt", 6400),
    ("HOM-THRW-06", "Alpaca throw", 7900),
    ("SHO-SNKR-01", "Canvas sneakers", 8500),
    ("TOP-SWTR-07", "Cashmere sweater", 9800),
    ("BTM-DENM-05", "Selvedge jeans", 11800),
    ("SHO-BOOT-03", "Chelsea boots", 16900),
    ("OUT-JCKT-02", "Waxed jacket", 19800),
    ("OUT-COAT-01", "Wool overcoat", 28900),
)
