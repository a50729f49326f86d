"""Workspace preflight: the read client against the emulator, and the comparison's findings.

Figures come from Braze's documentation (spec, "Workspace schema"): 50 attributes a page,
alphabetical, the next page in the ``Link`` header; 1,000 requests an hour; the key needs
``custom_attributes.get`` (and ``users.track`` to sync).
"""

from __future__ import annotations

import pytest

from amperity_braze_assets.activation.config import load_attribute_config
from amperity_braze_assets.braze import workspace
from amperity_braze_assets.braze.client import ClientSettings
from amperity_braze_assets.braze.workspace import DeclaredAttribute, compare
from amperity_braze_assets.braze.workspace_client import (
    BrazePermissionError,
    HourlyBudget,
    WorkspaceAttribute,
    WorkspaceClient,
)
from amperity_braze_assets.config import load_project_config
from amperity_braze_assets.devtools.emulator import start_emulator
from amperity_braze_assets_tests.conftest import make_settings

KEY = "workspace-test-key"
READ_ONLY = "read-only-key"
TRACK_ONLY = "track-only-key"
PERMISSIONS = {
    READ_ONLY: frozenset({"custom_attributes.get"}),
    TRACK_ONLY: frozenset({"users.track"}),
}


def client_for(handle, key=KEY, **options) -> WorkspaceClient:
    settings = ClientSettings(rest_endpoint=handle.url, max_attempts=2, backoff_base=0.0)
    return WorkspaceClient(settings, key, sleep=lambda _s: None, **options)


# -- the read client --------------------------------------------------------------------------
def test_reads_every_page_by_following_the_link_header():
    seeded = [{"name": f"attr_{n:03d}", "data_type": "Number"} for n in range(120)]
    seeded.append({"name": "zz_old", "data_type": "String", "status": "Blocklisted"})
    with start_emulator(KEY, custom_attributes=seeded) as handle, client_for(handle) as client:
        attributes = client.custom_attributes()
        assert client.requests == 3  # 121 attributes at 50 a page: 50, 50, 21
        assert handle.counters.schema_requests == 3
    assert [a.name for a in attributes] == [*(f"attr_{n:03d}" for n in range(120)), "zz_old"]
    assert attributes[0].data_type == "Number" and not attributes[0].blocklisted
    assert attributes[-1].blocklisted


def test_a_key_without_custom_attributes_get_is_a_permission_error_naming_it():
    with start_emulator(KEY, key_permissions=PERMISSIONS) as handle:
        with client_for(handle, TRACK_ONLY) as client, pytest.raises(BrazePermissionError) as e:
            client.custom_attributes()
        assert e.value.status == 403 and e.value.permission == "custom_attributes.get"
        assert "custom_attributes.get" in str(e.value)
        with client_for(handle, "unknown-key") as client, pytest.raises(BrazePermissionError) as e:
            client.custom_attributes()
        assert e.value.status == 401 and "unknown-key" not in str(e.value)


def test_the_track_probe_tells_the_permission_and_writes_nothing():
    with start_emulator(KEY, key_permissions=PERMISSIONS) as handle:
        with client_for(handle) as client:
            granted = client.probe_track_permission()
        with client_for(handle, READ_ONLY) as client:
            refused = client.probe_track_permission()
        with client_for(handle, "unknown-key") as client:
            unknown = client.probe_track_permission()
        assert handle.profiles == {} and handle.counters.objects == 0
        assert handle.schema == {}
    assert granted.granted and granted.status == 400  # nothing to process: the key was fine
    assert not refused.granted and refused.status == 403 and "users.track" in refused.message
    assert not unknown.granted and unknown.status == 401


def test_the_hourly_budget_lets_a_thousand_through_then_waits_for_the_oldest_to_age():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    budget = HourlyBudget(1_000, 3600.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(1_000):
        budget.acquire()
        now[0] += 0.5
    assert slept == []
    budget.acquire()  # the 1,001st within the hour
    assert slept == [pytest.approx(3600.0 - 500.0)]


def test_a_429_waits_and_reads_on():
    now = [0.0]
    with start_emulator(KEY, schema_rate_limit=1, clock=lambda: now[0]) as handle:
        handle.state.take_schema_slot()  # the hour's one request is spent
        waits = []

        def sleep(seconds):
            waits.append(seconds)
            now[0] += 3600  # the emulator's window moves on

        settings = ClientSettings(rest_endpoint=handle.url)
        with WorkspaceClient(settings, KEY, sleep=sleep) as client:
            assert client.custom_attributes() == []
    assert waits == [60.0]  # the emulator's Retry-After


# -- the comparison -----------------------------------------------------------------------------
def attr(name, data_type, status="Active"):
    return WorkspaceAttribute(name=name, data_type=data_type, status=status)


DECLARED = [
    DeclaredAttribute("loyalty_tier", "Varchar", "String"),
    DeclaredAttribute("loyalty_points", "Integer", "Number"),
    DeclaredAttribute("first_order_at", "Datetime", "Time"),
    DeclaredAttribute("old_score", "Float", "Number"),
    DeclaredAttribute("lifetime_monetary", "Decimal", "Number"),
    DeclaredAttribute("brand_new", "Boolean", "Boolean"),
]
WORKSPACE = [
    attr("loyaltyTier", "String"),
    attr("Loyalty-Tier", "String", "Blocklisted"),
    attr("loyalty_points", "String"),
    attr("first_order_at", "Time"),
    attr("old_score", "Number", "Blocklisted"),
    attr("lifetime_monetary", "Number"),
]


def test_findings_per_declared_attribute():
    found = {f.attribute: f for f in compare(DECLARED, WORKSPACE)}
    assert {name: (f.finding, f.severity) for name, f in found.items()} == {
        "loyalty_tier": ("name_alignment", "warn"),
        "loyalty_points": ("type_mismatch", "error"),
        "old_score": ("blocklisted", "error"),
        "brand_new": ("new", "info"),
    }
    # The active spelling is the one to use, not the blocklisted one.
    alignment = found["loyalty_tier"]
    assert alignment.workspace_name == "loyaltyTier"
    assert "rename 'loyalty_tier' to 'loyaltyTier'" in alignment.message
    assert "'Loyalty-Tier'" in alignment.message
    mismatch = found["loyalty_points"]
    assert (mismatch.declared_type, mismatch.workspace_type) == ("Integer", "String")
    assert "Fix:" in mismatch.message and "String" in mismatch.message
    assert "reactivate" in found["old_score"].message


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("loyalty_tier", "LoyaltyTier"),
        ("loyalty_tier", "loyalty-tier"),
        ("loyaltyTier", "loyalty_tier"),
    ],
)
def test_names_differing_only_in_case_or_separators_are_flagged(ours, theirs):
    (finding,) = compare([DeclaredAttribute(ours, "String", "String")], [attr(theirs, "String")])
    assert finding.finding == "name_alignment" and finding.workspace_name == theirs


def test_braze_type_spellings_are_read_as_the_type_they_name():
    declared = [DeclaredAttribute("n", "Integer", "Number"), DeclaredAttribute("d", "Date", "Time")]
    assert compare(declared, [attr("n", "Integer"), attr("d", "Date")]) == []
    assert compare(declared, [attr("n", "number"), attr("d", "Time")]) == []


def test_the_verdict_fails_on_errors_warns_on_name_flags_and_skips_with_the_reason():
    def verdict_of(findings):
        return workspace.verdict(workspace.findings_frame(findings))

    every = compare(DECLARED, WORKSPACE)
    assert (verdict_of(every).failed, verdict_of(every).severity) == (True, "error")
    flags = [f for f in every if f.severity != "error"]
    assert (verdict_of(flags).failed, verdict_of(flags).severity) == (True, "warn")
    assert verdict_of([f for f in every if f.finding == "new"]).failed is False
    skipped = verdict_of(workspace.skipped("no API key"))
    assert skipped.severity == "warn" and skipped.summary == "Skipped: no API key"


def test_declared_attributes_of_the_sample_mapping(tmp_path):
    settings = make_settings(tmp_path / "data")
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    declared = {d.name: d for d in workspace.declared_attributes(mapping)}
    assert declared["loyalty_tier"].braze_type == "String"  # Varchar(16)
    assert declared["loyalty_points"].braze_type == "Number"  # Integer
    assert declared["loyalty_joined_on"].braze_type == "Time"  # Date, sent as ISO 8601
    assert declared["l12m_monetary"].braze_type == "Number"  # Decimal(2)
    assert declared["multi_channel"].braze_type == "Boolean"
    assert declared["purchase_channels"].braze_type == "Array"
    assert declared["audiences"].braze_type == "Array"  # the audience array
    assert not {"email", "first_name", "dob"} & set(declared)  # standard fields
    only = workspace.declared_attributes(mapping, ("loyalty_tier", "email"))
    assert [d.name for d in only] == ["loyalty_tier"]


def test_second_stage_audience_flags_are_declared_and_checked(tmp_path):
    """The sample's lapsing.sql reads braze_customer_attributes; its flag is sent like the first
    stage's, so the preflight checks it: a String attribute of that name in Braze is a type
    mismatch (Braze would store our booleans as text)."""
    settings = make_settings(tmp_path / "data")
    mapping = load_attribute_config(load_project_config(settings, check_files=False))
    flags = [a.attribute for a in mapping.attribute_audiences]
    assert flags == ["audience_lapsing"]
    declared = {d.name: d for d in workspace.declared_attributes(mapping)}
    assert declared["audience_lapsing"].braze_type == "Boolean"
    seeded = [{"name": "audience_lapsing", "data_type": "String"}]
    with start_emulator(KEY, custom_attributes=seeded, key_permissions=PERMISSIONS) as handle:
        with client_for(handle) as client:
            findings = workspace.check_workspace(client, [declared["audience_lapsing"]])
    assert [(f.finding, f.attribute) for f in findings] == [("type_mismatch", "audience_lapsing")]


def test_check_workspace_against_the_emulator_reports_each_kind():
    seeded = [
        {"name": "loyaltyTier", "data_type": "String"},
        {"name": "loyalty_points", "data_type": "String"},
        {"name": "old_score", "data_type": "Number", "status": "Blocklisted"},
    ]
    with start_emulator(KEY, custom_attributes=seeded, key_permissions=PERMISSIONS) as handle:
        with client_for(handle) as client:
            findings = workspace.check_workspace(client, DECLARED)
        with client_for(handle, READ_ONLY) as client:
            read_only = workspace.check_workspace(client, DECLARED[:1])
    kinds = sorted(f.finding for f in findings)
    assert kinds == ["blocklisted", "name_alignment", "new", "new", "new", "type_mismatch"]
    assert [(f.finding, f.attribute) for f in read_only] == [
        ("permission", "users.track"),
        ("name_alignment", "loyalty_tier"),
    ]
