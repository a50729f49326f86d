"""States and provinces as ISO 3166-2 subdivision codes (the part after ``US-``, ``CA-``, ...).

Sources write a subdivision as its code (``BC``), its name in English or in the country's
language (``British Columbia``, ``Bavaria``, ``Bayern``), upper case or not, with or without
accents, dots and hyphens (``N.S.W.``, ``Île-de-France``), or as the full ISO code (``CA-BC``).
All of them become the code, so that ``BRITISH COLUMBIA`` and ``BC`` are one value in the
customer 360 as ``California`` and ``CA`` are.

The names follow ISO 3166-2 (as pycountry lists them) plus the English and common spellings
that exports use. A table rather than a dependency: eight countries, a few hundred names.
"""

from __future__ import annotations

import unicodedata

import polars as pl

# Letters that have no accent to fold (NFKD leaves them whole): their ASCII spelling, so that
# Søren and Soren, Łukasz and Lukasz compare equal. Upper case: applied after upper-casing.
ASCII_LETTERS: dict[str, str] = {
    "Ø": "O",
    "Ł": "L",
    "Đ": "D",
    "Ð": "D",
    "Ħ": "H",
    "Æ": "AE",
    "Œ": "OE",
    "Þ": "TH",
    "ẞ": "SS",
}

# Country (ISO 3166-1 alpha-2) -> subdivision name -> code. Each code also names itself.
SUBDIVISIONS: dict[str, dict[str, str]] = {
    "US": {
        "Alabama": "AL",
        "Alaska": "AK",
        "Arizona": "AZ",
        "Arkansas": "AR",
        "California": "CA",
        "Colorado": "CO",
        "Connecticut": "CT",
        "Delaware": "DE",
        "District of Columbia": "DC",
        "Washington DC": "DC",
        "Washington D.C.": "DC",
        "Florida": "FL",
        "Georgia": "GA",
        "Hawaii": "HI",
        "Idaho": "ID",
        "Illinois": "IL",
        "Indiana": "IN",
        "Iowa": "IA",
        "Kansas": "KS",
        "Kentucky": "KY",
        "Louisiana": "LA",
        "Maine": "ME",
        "Maryland": "MD",
        "Massachusetts": "MA",
        "Michigan": "MI",
        "Minnesota": "MN",
        "Mississippi": "MS",
        "Missouri": "MO",
        "Montana": "MT",
        "Nebraska": "NE",
        "Nevada": "NV",
        "New Hampshire": "NH",
        "New Jersey": "NJ",
        "New Mexico": "NM",
        "New York": "NY",
        "North Carolina": "NC",
        "North Dakota": "ND",
        "Ohio": "OH",
        "Oklahoma": "OK",
        "Oregon": "OR",
        "Pennsylvania": "PA",
        "Rhode Island": "RI",
        "South Carolina": "SC",
        "South Dakota": "SD",
        "Tennessee": "TN",
        "Texas": "TX",
        "Utah": "UT",
        "Vermont": "VT",
        "Virginia": "VA",
        "Washington": "WA",
        "West Virginia": "WV",
        "Wisconsin": "WI",
        "Wyoming": "WY",
        "Puerto Rico": "PR",
        "American Samoa": "AS",
        "Guam": "GU",
        "Northern Mariana Islands": "MP",
        "US Virgin Islands": "VI",
        "Virgin Islands": "VI",
        "United States Minor Outlying Islands": "UM",
    },
    "CA": {
        "Alberta": "AB",
        "British Columbia": "BC",
        "Colombie-Britannique": "BC",
        "Manitoba": "MB",
        "New Brunswick": "NB",
        "Nouveau-Brunswick": "NB",
        "Newfoundland and Labrador": "NL",
        "Newfoundland & Labrador": "NL",
        "Newfoundland": "NL",
        "Terre-Neuve-et-Labrador": "NL",
        "Nova Scotia": "NS",
        "Nouvelle-Écosse": "NS",
        "Ontario": "ON",
        "Prince Edward Island": "PE",
        "Île-du-Prince-Édouard": "PE",
        "Quebec": "QC",
        "Québec": "QC",
        "Saskatchewan": "SK",
        "Northwest Territories": "NT",
        "Territoires du Nord-Ouest": "NT",
        "Nunavut": "NU",
        "Yukon": "YT",
        "Yukon Territory": "YT",
        # Pre-ISO postal abbreviations still found in old exports.
        "PQ": "QC",
        "NF": "NL",
        "YK": "YT",
    },
    "AU": {
        "Australian Capital Territory": "ACT",
        "New South Wales": "NSW",
        "Northern Territory": "NT",
        "Queensland": "QLD",
        "South Australia": "SA",
        "Tasmania": "TAS",
        "Victoria": "VIC",
        "Western Australia": "WA",
    },
    "GB": {
        "England": "ENG",
        "Scotland": "SCT",
        "Alba": "SCT",
        "Wales": "WLS",
        "Cymru": "WLS",
        "CYM": "WLS",
        "Northern Ireland": "NIR",
    },
    "DE": {
        "Baden-Württemberg": "BW",
        "Bayern": "BY",
        "Bavaria": "BY",
        "Berlin": "BE",
        "Brandenburg": "BB",
        "Bremen": "HB",
        "Hamburg": "HH",
        "Hessen": "HE",
        "Hesse": "HE",
        "Mecklenburg-Vorpommern": "MV",
        "Mecklenburg-Western Pomerania": "MV",
        "Niedersachsen": "NI",
        "Lower Saxony": "NI",
        "Nordrhein-Westfalen": "NW",
        "North Rhine-Westphalia": "NW",
        "Rheinland-Pfalz": "RP",
        "Rhineland-Palatinate": "RP",
        "Saarland": "SL",
        "Sachsen": "SN",
        "Saxony": "SN",
        "Sachsen-Anhalt": "ST",
        "Saxony-Anhalt": "ST",
        "Schleswig-Holstein": "SH",
        "Thüringen": "TH",
        "Thuringia": "TH",
    },
    "FR": {
        "Auvergne-Rhône-Alpes": "ARA",
        "Bourgogne-Franche-Comté": "BFC",
        "Burgundy-Franche-Comté": "BFC",
        "Bretagne": "BRE",
        "Brittany": "BRE",
        "Centre-Val de Loire": "CVL",
        "Corse": "20R",
        "Corsica": "20R",
        "Grand Est": "GES",
        "Hauts-de-France": "HDF",
        "Île-de-France": "IDF",
        "Normandie": "NOR",
        "Normandy": "NOR",
        "Nouvelle-Aquitaine": "NAQ",
        "Occitanie": "OCC",
        "Pays de la Loire": "PDL",
        "Provence-Alpes-Côte d'Azur": "PAC",
        "PACA": "PAC",
        "Guadeloupe": "971",
        "Martinique": "972",
        "Guyane": "973",
        "French Guiana": "973",
        "La Réunion": "974",
        "Réunion": "974",
        "Mayotte": "976",
    },
    "BR": {
        "Acre": "AC",
        "Alagoas": "AL",
        "Amapá": "AP",
        "Amazonas": "AM",
        "Bahia": "BA",
        "Ceará": "CE",
        "Distrito Federal": "DF",
        "Espírito Santo": "ES",
        "Goiás": "GO",
        "Maranhão": "MA",
        "Mato Grosso": "MT",
        "Mato Grosso do Sul": "MS",
        "Minas Gerais": "MG",
        "Pará": "PA",
        "Paraíba": "PB",
        "Paraná": "PR",
        "Pernambuco": "PE",
        "Piauí": "PI",
        "Rio de Janeiro": "RJ",
        "Rio Grande do Norte": "RN",
        "Rio Grande do Sul": "RS",
        "Rondônia": "RO",
        "Roraima": "RR",
        "Santa Catarina": "SC",
        "São Paulo": "SP",
        "Sergipe": "SE",
        "Tocantins": "TO",
    },
    "MX": {
        "Aguascalientes": "AGU",
        "Baja California": "BCN",
        "Baja California Sur": "BCS",
        "Campeche": "CAM",
        "Chiapas": "CHP",
        "Chihuahua": "CHH",
        "Ciudad de México": "CMX",
        "Mexico City": "CMX",
        "CDMX": "CMX",
        "Distrito Federal": "CMX",
        "DF": "CMX",
        "DIF": "CMX",  # the code before 2016
        "Coahuila": "COA",
        "Coahuila de Zaragoza": "COA",
        "Colima": "COL",
        "Durango": "DUR",
        "Guanajuato": "GUA",
        "Guerrero": "GRO",
        "Hidalgo": "HID",
        "Jalisco": "JAL",
        "México": "MEX",
        "Estado de México": "MEX",
        "State of Mexico": "MEX",
        "Edomex": "MEX",
        "Michoacán": "MIC",
        "Michoacán de Ocampo": "MIC",
        "Morelos": "MOR",
        "Nayarit": "NAY",
        "Nuevo León": "NLE",
        "Oaxaca": "OAX",
        "Puebla": "PUE",
        "Querétaro": "QUE",
        "Quintana Roo": "ROO",
        "San Luis Potosí": "SLP",
        "Sinaloa": "SIN",
        "Sonora": "SON",
        "Tabasco": "TAB",
        "Tamaulipas": "TAM",
        "Tlaxcala": "TLA",
        "Veracruz": "VER",
        "Veracruz de Ignacio de la Llave": "VER",
        "Yucatán": "YUC",
        "Zacatecas": "ZAC",
    },
}


def place_key(text: str) -> str:
    """The key a subdivision is looked up by: accents folded, upper case, letters and digits
    only (``N.S.W.`` -> ``NSW``, ``Île-de-France`` -> ``ILEDEFRANCE``). ``place_key_expr`` is
    the same for a column."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).upper()
    for letter, ascii_spelling in ASCII_LETTERS.items():
        folded = folded.replace(letter, ascii_spelling)
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def ascii_upper_expr(expr: pl.Expr) -> pl.Expr:
    """A column upper-cased with accents folded (``é`` -> ``E``, ``Ø`` -> ``O``, ``Ł`` -> ``L``):
    where ``place_key_expr`` and ``normalize.fold_text`` begin."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_many(list(ASCII_LETTERS), list(ASCII_LETTERS.values()))
    )


def place_key_expr(expr: pl.Expr) -> pl.Expr:
    return ascii_upper_expr(expr).str.replace_all(r"[^A-Z0-9]+", "")


def _lookup() -> pl.DataFrame:
    """(country, key, code) for every name, code and full ISO code (``CA-BC``) of a country."""
    rows: dict[tuple[str, str], str] = {}
    for country, names in SUBDIVISIONS.items():
        codes = set(names.values())
        for code in codes:
            rows[(country, place_key(code))] = code
            rows[(country, place_key(f"{country}-{code}"))] = code
        for name, code in names.items():
            rows.setdefault((country, place_key(name)), code)
    return pl.DataFrame(
        [(country, key, code) for (country, key), code in rows.items()],
        schema={"country": pl.String, "key": pl.String, "code": pl.String},
        orient="row",
    )


SUBDIVISION_LOOKUP = _lookup()
# Keys that name one subdivision in one country only: read without a country (BC, BAYERN, NSW).
UNIQUE_LOOKUP = (
    SUBDIVISION_LOOKUP.filter(pl.len().over("key") == 1).select("key", "code").sort("key")
)
US_LOOKUP = SUBDIVISION_LOOKUP.filter(pl.col("country") == "US").select("key", "code")


def subdivision_codes(keys: pl.Series, countries: pl.Series) -> pl.Series:
    """The ISO 3166-2 code (without the country) of each ``place_key``'d state, by its row's
    country (alpha-2, null when unknown): in that country's table when the country has one
    (null if none matches); without a country, the one subdivision the key names anywhere, else
    the US one; null when nothing matches. Aligned with ``keys``."""
    frame = pl.DataFrame({"key": keys.cast(pl.String), "country": countries.cast(pl.String)})
    for name, table, on in (
        ("_by_country", SUBDIVISION_LOOKUP, ["country", "key"]),
        ("_unique", UNIQUE_LOOKUP, ["key"]),
        ("_us", US_LOOKUP, ["key"]),
    ):
        found = table.select(*on, pl.col("code").alias(name))
        frame = frame.join(found, on=on, how="left", maintain_order="left")
    return frame.select(
        pl.when(pl.col("country").is_not_null())
        .then(pl.col("_by_country"))
        .otherwise(pl.coalesce("_unique", "_us"))
        .alias(keys.name)
    ).to_series()
