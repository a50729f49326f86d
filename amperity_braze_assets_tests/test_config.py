"""Each configuration mistake fails at load with the file, the source and the fix."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest

from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.config_file import ConfigError
from amperity_braze_assets_tests.conftest import make_settings

GOOD_SOURCE = """
  crm:
    kind: customers
    files: sources/crm/*.csv
    primary_key: ID
    columns:
      FIRST: given-name
      MAIL: email
"""


def write_config(tmp_path, body: str):
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "sources.yaml").write_text(textwrap.dedent(body))
    return make_settings(tmp_path / "data", config_dir)


def write_crm(tmp_path, header: str = "ID,FIRST,MAIL"):
    folder = tmp_path / "data" / "sources" / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_text(f"{header}\n1,Ann,ann@example.org\n")


def test_sample_configuration_loads(tmp_path):
    config = load_project_config(make_settings(tmp_path))
    assert [s.name for s in config.sources] == ["pos", "web", "loyalty", "orders"]
    assert config.source("loyalty").column_map()["member_no"] == "fk_loyalty"
    assert config.source("loyalty").csv.delimiter == ";"


def test_valid_custom_configuration(tmp_path):
    write_crm(tmp_path)
    config = load_project_config(write_config(tmp_path, "sources:" + GOOD_SOURCE))
    assert config.source("crm").column_map() == {"FIRST": "given_name", "MAIL": "email"}


def test_unknown_tag_names_the_file_source_and_suggests(tmp_path):
    settings = write_config(tmp_path, "sources:" + GOOD_SOURCE.replace("email", "emial"))
    with pytest.raises(ConfigError) as error:
        load_project_config(settings)
    message = str(error.value)
    assert "sources.yaml" in message and "source 'crm'" in message
    assert "unknown tag 'emial'" in message and "did you mean 'email'" in message


def test_missing_column_names_the_file_and_the_fix(tmp_path):
    write_crm(tmp_path, header="ID,FIRST,EMAIL_ADDRESS")
    with pytest.raises(ConfigError) as error:
        load_project_config(write_config(tmp_path, "sources:" + GOOD_SOURCE))
    message = str(error.value)
    assert "column 'MAIL' is not in" in message and "a.csv" in message
    assert "sources.crm.columns" in message and "EMAIL_ADDRESS" in message


def test_missing_primary_key_column(tmp_path):
    write_crm(tmp_path, header="CUSTOMER,FIRST,MAIL")
    with pytest.raises(ConfigError, match=r"column 'ID'.*sources\.crm\.primary_key"):
        load_project_config(write_config(tmp_path, "sources:" + GOOD_SOURCE))


def test_duplicate_source_name(tmp_path):
    settings = write_config(tmp_path, "sources:" + GOOD_SOURCE + GOOD_SOURCE)
    with pytest.raises(ConfigError, match=r"duplicate key 'crm'.*rename or remove"):
        load_project_config(settings)


def test_unreadable_file(tmp_path):
    folder = tmp_path / "data" / "sources" / "web"
    folder.mkdir(parents=True)
    (folder / "accounts.parquet").write_bytes(b"this is not parquet")
    body = """
    sources:
      web:
        files: sources/web/*.parquet
        primary_key: id
        columns: {mail: email}
    """
    with pytest.raises(ConfigError) as error:
        load_project_config(write_config(tmp_path, body))
    assert "cannot read" in str(error.value) and "accounts.parquet" in str(error.value)
    assert "source 'web'" in str(error.value)


def test_tag_mapped_twice_and_unknown_key_are_reported_together(tmp_path):
    body = """
    sources:
      crm:
        files: sources/crm/*.csv
        primary_key: ID
        columns: {A: email, B: email}
      shop:
        files: x.csv
        primary_key: ID
        colums: {A: email}
    """
    with pytest.raises(ConfigError) as error:
        load_project_config(write_config(tmp_path, body))
    message = str(error.value)
    assert "tag 'email' is mapped twice" in message
    assert "unknown key 'colums'" in message and "did you mean 'columns'" in message


def test_transactions_must_map_required_tags(tmp_path):
    body = """
    sources:
      orders:
        kind: transactions
        files: o.csv
        columns: {id: order-id, amt: amount}
    """
    with pytest.raises(ConfigError, match=r"must map the tags \['order-time'\][\s\S]*say whose"):
        load_project_config(write_config(tmp_path, body))


def test_bad_source_name_and_encoding(tmp_path):
    body = """
    sources:
      Web-Shop:
        files: x.csv
        primary_key: id
        columns: {a: email}
    """
    with pytest.raises(ConfigError, match="lower case letters"):
        load_project_config(write_config(tmp_path, body))
    body = """
    sources:
      shop:
        files: x.csv
        primary_key: id
        csv: {encoding: klingon}
        columns: {a: email}
    """
    with pytest.raises(ConfigError, match="encoding 'klingon' is unknown"):
        load_project_config(write_config(tmp_path, body))


def test_parquet_header_is_checked(tmp_path):
    folder = tmp_path / "data" / "sources" / "web"
    folder.mkdir(parents=True)
    pl.DataFrame({"id": [1], "mail": ["a@b.org"]}).write_parquet(folder / "a.parquet")
    body = """
    sources:
      web:
        files: sources/web/*.parquet
        primary_key: id
        columns: {email: email}
    """
    with pytest.raises(ConfigError, match=r"column 'email' is not in .*a\.parquet"):
        load_project_config(write_config(tmp_path, body))


def test_survivorship_rules_are_parsed_once_at_load(tmp_path):
    write_crm(tmp_path)
    config = load_project_config(
        write_config(
            tmp_path,
            "sources:"
            + GOOD_SOURCE
            + "survivorship:\n  source_priority: [crm]\n  tie_breakers: [most_recent]\n",
        )
    )
    assert config.survivorship_rules.source_priority == ("crm",)
    assert config.survivorship_rules.tie_breakers == ("most_recent",)
    defaults = load_project_config(write_config(tmp_path, "sources:" + GOOD_SOURCE))
    assert defaults.survivorship_rules.field_groups["email"] == ("email",)


def test_a_bad_survivorship_fails_the_load_with_the_file(tmp_path):
    write_crm(tmp_path)
    settings = write_config(
        tmp_path, "sources:" + GOOD_SOURCE + "survivorship:\n  source_priority: [crm, nope]\n"
    )
    with pytest.raises(ConfigError, match="sources.yaml: survivorship.source_priority"):
        load_project_config(settings)


def test_what_is_wrong_beside_the_sources_is_said_with_the_source_errors(tmp_path):
    body = "sources:" + GOOD_SOURCE + "sourcs: {}\nsurvivorship: [crm]\n"
    with pytest.raises(ConfigError) as error:
        load_project_config(write_config(tmp_path, body), check_files=False)
    message = str(error.value)
    assert "unknown top-level key(s) ['sourcs'] (did you mean 'sources'?)" in message
    assert "sources.yaml: 'survivorship' must be a mapping" in message
    with pytest.raises(ConfigError, match="expected a top-level 'sources:' mapping"):
        load_project_config(write_config(tmp_path, "sources: {}\n"), check_files=False)
