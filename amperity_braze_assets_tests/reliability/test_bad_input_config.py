"""Bad configuration on purpose: every YAML file a user edits either loads or fails with a
``ConfigError`` that names the file and says how to fix it; never another exception, never a
hang (anchor bombs are kept small, so "never a hang" is checked by the CI profile's deadline on
the whole folder)."""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze.destinations import load_destinations
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets.orchestration.config import load_freshness_hours, load_schedule_configs
from amperity_braze_assets.settings import SAMPLE_CONFIG_DIR, load_settings

FILES = (
    "sources.yaml",
    "attributes.yaml",
    "segments.yaml",
    "destinations.yaml",
    "orchestration.yaml",
)
FIX_WORDS = re.compile(
    r"\b(use|set|must|rename|allowed|expected|did you mean|give|write|remove|fix|declare|"
    r"take|takes|map|put|name|close|list|only|needs?|alias|qualify|check|unset|save)\b",
    re.IGNORECASE,
)
KNOWN_JOBS = {
    "braze_sync_job": "the sync",
    "audience_refresh_job": "audiences",
    "currents_ingest_job": "currents",
    "customer360_job": "the 360",
    "demo_job": "the demo",
}
KNOWN_ASSETS = {"customer_360", "braze_customer_attributes", "braze_sync", "customer_engagement"}
SAMPLE = {name: yaml.safe_load((SAMPLE_CONFIG_DIR / name).read_text()) for name in FILES}

HOSTILE_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "x" * 20_000,
        "\x00\x01\x07\x1b[31m",
        "'; DROP TABLE customer_360; --",
        "{{ 7*7 }}",
        "${BRAZE_API_KEY}",
        "../../../../etc/passwd",
        "s3://bucket/../../x",
        "http://evil.example.com",
        "=cmd|' /C calc'!A0",
        "Varchar(999999999999999999999)",
        "Decimal(-1)",
        "1e309",
        "nan",
        "\u202egnp.exe",
        "漢字🙂",
        "read_csv('/etc/passwd')",
        "US-03",
        "email",
        "customer_360.email",
        "customer_360.nope",
        "audiences.nope",
        "0 6 * * *",
        "Mars/Olympus_Mons",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    HOSTILE_STRINGS,
    st.dates(),
    st.datetimes(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), HOSTILE_STRINGS, st.integers()), children, max_size=4
        ),
    ),
    max_leaves=12,
)

# Raw YAML text that no dumper writes: anchors and aliases (a small "billion laughs"), tags,
# tabs, unclosed brackets, several documents, binary garbage.
RAW_TEXTS = st.one_of(
    st.sampled_from(
        [
            'a: &a ["x","x","x","x"]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nd: [*c,*c,*c,*c]\n',
            "sources: &s {pos: *s}\n",
            "sources:\n  pos: &p {kind: customers}\n  web: *p\n",
            "!!python/object/apply:os.system ['echo pwned']\n",
            "sources: !!binary aGVsbG8=\n",
            "sources:\n\tpos: {}\n",
            "sources: [\n",
            "---\nsources: {}\n---\nsources: {}\n",
            "? [a, b]\n: c\n",
            "? {a: 1}\n: c\n",
            "sources:\n  ? [pos]\n  : {kind: customers}\n",
            "a: 1\na: 2\n",
            "%YAML 9.9\n---\na: 1\n",
            "- just\n- a\n- list\n",
            "just a string",
            "42",
            "~",
            "\ufeffsources: {}\n",
            "sources: {pos: {files: *undefined}}\n",
            "<<: {sources: {}}\n",
            "sources:\n  <<: [1, 2]\n",
        ]
    ),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.text(max_size=200),
)


def mutate(document: Any, data: st.DataObject) -> Any:
    """The document with one node replaced, deleted or given an unknown sibling."""
    document = copy.deepcopy(document)
    node, path = document, []
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path.append((node, key))
        node = node[key]
    if not path:
        return data.draw(VALUES)
    parent, key = path[-1]
    action = data.draw(st.sampled_from(["replace", "delete", "unknown_key"]))
    if action == "replace":
        parent[key] = data.draw(VALUES)
    elif action == "delete":
        del parent[key]
    elif isinstance(parent, dict):
        parent[data.draw(HOSTILE_STRINGS | st.text(max_size=10))] = data.draw(VALUES)
    else:
        parent.append(data.draw(VALUES))
    return document


def dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def config_dir_with(name: str, text: str | bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="badcfg-"))
    shutil.copytree(SAMPLE_CONFIG_DIR, folder, dirs_exist_ok=True)
    target = folder / name
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text, encoding="utf-8", errors="surrogatepass")
    return folder


def load_everything(folder: Path, name: str) -> None:
    """The loaders that read ``name``, as definitions load calls them."""
    settings = load_settings(
        {"AMPERITY_BRAZE_DATA_DIR": str(folder / "data"), "AMPERITY_BRAZE_CONFIG_DIR": str(folder)}
    )
    if name == "destinations.yaml":
        load_destinations(settings)
    elif name == "orchestration.yaml":
        load_schedule_configs(folder, KNOWN_JOBS)
        load_freshness_hours(folder, KNOWN_ASSETS)
    else:
        project = load_project_config(settings)
        load_attribute_config(project)


def assert_loads_or_explains(name: str, text: str | bytes) -> str:
    folder = config_dir_with(name, text)
    try:
        load_everything(folder, name)
    except ConfigError as exc:
        message = str(exc)
        # The error names the broken file, or the file whose reference the change broke (a
        # column removed from sources.yaml is reported where attributes.yaml uses it).
        assert str(folder) in message, message[:2000]
        for line in message.split("\n- ")[1:] or [message]:
            # every collected error names a file of the config folder and its fix
            assert str(folder) in line, line[:500]
            assert FIX_WORDS.search(line), f"no fix in: {line[:500]}"
        return "error"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return "ok"


@pytest.mark.parametrize("name", FILES)
def test_the_sample_configuration_loads(name):
    assert assert_loads_or_explains(name, dump(SAMPLE[name])) == "ok"


def hostile_input(name: str, data: st.DataObject) -> str | bytes:
    kind = data.draw(st.sampled_from(["mutated", "mutated", "document", "raw", "binary"]))
    if kind == "mutated":
        return dump(mutate(SAMPLE[name], data))
    if kind == "document":
        return dump(data.draw(VALUES))
    if kind == "raw":
        return data.draw(RAW_TEXTS)
    return data.draw(st.binary(min_size=1, max_size=200))


OUTCOMES: dict[str, int] = {}


@pytest.mark.parametrize("name", FILES)
@given(data=st.data())
def test_hostile_configuration_loads_or_names_its_fix(name, data):
    outcome = assert_loads_or_explains(name, hostile_input(name, data))
    OUTCOMES[f"{name}:{outcome}"] = OUTCOMES.get(f"{name}:{outcome}", 0) + 1
