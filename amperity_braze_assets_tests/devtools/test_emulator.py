"""The emulator enforces the spec: one request at a time over real HTTP on loopback."""

from __future__ import annotations

import json

import pytest
import requests

from amperity_braze_assets import braze_fields as fields
from amperity_braze_assets.devtools.emulator import STATE_PATH, start_emulator

KEY = "emulator-test-key-123"


@pytest.fixture
def emulator():
    with start_emulator(KEY) as handle:
        yield handle


def post(handle, body, path="/users/track", key=KEY, content_type="application/json"):
    return requests.post(
        handle.url + path,
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        timeout=5,
    )


def test_accepts_sets_unsets_increments_and_array_operations(emulator):
    body = {
        "attributes": [
            {"external_id": "p1", "first_name": "Ann", "visits": 1, "tags": ["a", "a", "b"]}
        ]
    }
    response = post(emulator, body)
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 1}
    post(
        emulator,
        {
            "attributes": [
                {
                    "external_id": "p1",
                    "first_name": None,
                    "visits": {"inc": 2},
                    "tags": {"add": ["c"], "remove": ["a"]},
                }
            ]
        },
    )
    assert emulator.profiles["p1"] == {"visits": 3, "tags": ["b", "c"]}
    counters = emulator.counters
    assert counters.data_points == 6 and counters.objects == 2


def test_rejected_objects_are_listed_inside_a_201(emulator):
    body = {
        "attributes": [
            {"external_id": "ok", "email": "a@example.com"},
            {"external_id": "bad", "email": "not-an-email"},
            {"external_id": "two", "braze_id": "x"},
            {"external_id": "long", "note": "x" * 256},
            {"external_id": "dollar", "$bad": 1},
            {"external_id": "g", "gender": "male"},
        ]
    }
    response = post(emulator, body)
    assert response.status_code == 201
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3, 4, 5]
    assert all(e["input_array"] == "attributes" for e in errors)
    assert set(emulator.profiles) == {"ok"}


def test_nothing_valid_is_a_400_and_too_many_objects_too(emulator):
    assert post(emulator, {"attributes": [{"external_id": "x", "phone": "555"}]}).status_code == 400
    many = {
        "attributes": [{"external_id": f"p{i}"} for i in range(50)],
        "events": [{"external_id": "e", "name": "n", "time": "2024-01-01T00:00:00Z"}] * 26,
    }
    response = post(emulator, many)
    assert response.status_code == 400 and "Max Input Length" in response.json()["message"]


def test_legacy_mode_counts_each_array_separately():
    with start_emulator(KEY, legacy_per_array_limit=True) as handle:
        body = {
            "attributes": [{"external_id": f"p{i}"} for i in range(75)],
            "events": [{"external_id": "e", "name": "n"}] * 10,
        }
        assert post(handle, body).status_code == 201


def test_auth_content_type_path_and_size(emulator):
    unauthorized = post(emulator, {"attributes": []}, key="wrong-key")
    assert (
        unauthorized.status_code == 401 and "wrong-key" in unauthorized.text
    )  # echoes, like Braze
    assert (
        post(
            emulator, {"attributes": [{"external_id": "a"}]}, content_type="text/plain"
        ).status_code
        == 415
    )
    assert (
        post(emulator, {"attributes": [{"external_id": "a"}]}, path="/users/track/").status_code
        == 404
    )
    big = {"attributes": [{"external_id": "a", "blob": ["x" * 200] * 30000}]}
    assert post(emulator, big).status_code == 413
    assert "X-RateLimit-Limit" in unauthorized.headers


def test_identifier_rules(emulator):
    body = {
        "attributes": [
            {"first_name": "no id"},
            {"external_id": "x" * 988},
            {"external_id": "new", "_update_existing_only": True},
            {"user_alias": {"alias_name": "n", "alias_label": "l"}, "_update_existing_only": False},
        ]
    }
    errors = post(emulator, body).json()["errors"]
    assert [e["index"] for e in errors] == [0, 1, 2]


def test_fixed_window_rate_limit_answers_429_with_headers():
    now = [1_000.0]
    with start_emulator(KEY, rate_limit=2, window_seconds=10, clock=lambda: now[0]) as handle:
        body = {"attributes": [{"external_id": "a"}]}
        first, second, third = (post(handle, body) for _ in range(3))
        assert [first.status_code, second.status_code, third.status_code] == [201, 201, 429]
        assert third.headers["X-RateLimit-Remaining"] == "0"
        assert float(third.headers["X-RateLimit-Reset"]) == 1010.0
        now[0] = 1010.5
        assert post(handle, body).status_code == 201
        assert handle.counters.throttled == 1


def test_faults_are_deterministic_and_drops_apply_before_closing():
    with start_emulator(KEY, fail_requests={1}, drop_requests={2}) as handle:
        body = {"attributes": [{"external_id": "a", "n": 1}]}
        assert post(handle, body).status_code == 503
        with pytest.raises(requests.ConnectionError):
            post(handle, body)
        assert handle.profiles == {"a": {"n": 1}}  # the dropped request was applied
        counts = [start_emulator(KEY, fault_5xx=0.3, seed=7) for _ in range(2)]
        try:
            outcomes = [[post(h, body).status_code for _ in range(20)] for h in counts]
        finally:
            for h in counts:
                h.stop()
        assert outcomes[0] == outcomes[1] and 503 in outcomes[0]


def test_merge_fills_the_survivor_and_removes_the_absorbed(emulator):
    post(
        emulator,
        {"attributes": [{"external_id": "old", "a": 1, "b": 2}, {"external_id": "new", "a": 9}]},
    )
    merge = {
        "merge_updates": [
            {
                "identifier_to_merge": {"external_id": "old"},
                "identifier_to_keep": {"external_id": "new"},
            }
        ]
    }
    assert post(emulator, merge, path="/users/merge").status_code == 202
    assert emulator.profiles == {"new": {"a": 9, "b": 2}}
    too_many = {"merge_updates": merge["merge_updates"] * 51}
    assert post(emulator, too_many, path="/users/merge").status_code == 400
    state = requests.get(emulator.url + STATE_PATH, timeout=5).json()
    assert state["profiles"] == {"new": {"a": 9, "b": 2}} and state["counters"]["merges"] == 1


# Values the builder's catalogue (braze_fields.py) lets through but the spec's standards refuse:
# +1 followed by seven digits is no number in the North American plan (E.164). (Emails with two
# dots in a row or a local part over 64 octets were here until the catalogue refused them too.)
SPEC_REFUSES_FIELDS_ALLOWS = [
    ("phone", "+10000000"),
]


@pytest.mark.parametrize(
    "value",
    ["first..last@example.com", "." + "a" * 10 + "@example.com", "a" * 65 + "@example.com"],
)
def test_the_catalogue_and_the_emulator_both_refuse_bad_email_shapes(emulator, value):
    assert fields.standard_value_problem("email", value) is not None
    body = {"attributes": [{"external_id": "ok"}, {"external_id": "p", "email": value}]}
    [error] = post(emulator, body).json()["errors"]
    assert error["index"] == 1 and "email" in error["type"]


@pytest.mark.parametrize(("field", "value"), SPEC_REFUSES_FIELDS_ALLOWS)
def test_the_emulator_refuses_what_fields_py_wrongly_allows(emulator, field, value):
    assert fields.standard_value_problem(field, value) is None  # the builder would send it
    body = {"attributes": [{"external_id": "ok"}, {"external_id": "p", field: value}]}
    response = post(emulator, body)
    assert response.status_code == 201
    [error] = response.json()["errors"]
    assert error["index"] == 1 and field in error["type"]
    assert set(emulator.profiles) == {"ok"}


def test_spec_examples_are_accepted(emulator):
    # every example value the spec's table of standard fields gives
    person = {
        "external_id": "spec",
        "first_name": "Ann",
        "email": "ann@example.com",
        "phone": "+14155550100",
        "dob": "1980-02-29",
        "gender": "P",
        "country": "US",
        "language": "en",
        "time_zone": "America/New_York",
        "email_subscribe": "opted_in",
        "push_subscribe": "unsubscribed",
    }
    assert post(emulator, {"attributes": [person]}).json() == {
        "message": "success",
        "attributes_processed": 1,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dob", "1981-02-29"),  # no such day
        ("dob", "19800101"),  # ISO basic form: not YYYY-MM-DD
        ("country", "USA"),  # alpha-3
        ("country", "UK"),  # not an ISO 3166-1 code (GB is)
        ("language", "eng"),
        ("time_zone", "EST5"),
        ("gender", "f"),
        ("email_subscribe", "yes"),
        ("first_name", "x" * 256),
        ("phone", "4155550100"),
    ],
)
def test_spec_refusals_for_standard_fields(emulator, field, value):
    body = {"attributes": [{"external_id": "ok"}, {"external_id": "p", field: value}]}
    assert [e["index"] for e in post(emulator, body).json()["errors"]] == [1]


def test_events_and_purchases_are_judged_by_the_spec(emulator):
    body = {
        "events": [
            {"external_id": "e", "name": "viewed", "time": "2024-01-01T00:00:00Z"},
            {"external_id": "e", "name": "viewed", "time": "2024-01-01T00:00:00:000Z"},
            {"external_id": "e", "name": "", "time": "2024-01-01T00:00:00Z"},
            {"external_id": "e", "name": "viewed", "time": "yesterday"},
            {"external_id": "e", "name": "viewed", "properties": {"$x": 1}},
        ],
        "purchases": [
            {
                "external_id": "e",
                "product_id": "sku",
                "currency": "USD",
                "price": 9.5,
                "time": "2024-01-01T00:00:00Z",
            },
            {"external_id": "e", "product_id": "sku", "currency": "usd", "price": 9.5},
            {"external_id": "e", "product_id": "sku", "currency": "USD", "price": "9.5"},
            {
                "external_id": "e",
                "product_id": "sku",
                "currency": "USD",
                "price": 1,
                "quantity": 101,
            },
        ],
    }
    errors = post(emulator, body).json()["errors"]
    assert [(e["input_array"], e["index"]) for e in errors] == [
        ("events", 2),
        ("events", 3),
        ("events", 4),
        ("purchases", 1),
        ("purchases", 2),
        ("purchases", 3),
    ]


def test_the_emulator_shares_no_code_with_the_field_catalogue():
    import ast
    from pathlib import Path

    import amperity_braze_assets.devtools.emulator as emulator_module
    import amperity_braze_assets.devtools.emulator_rules as rules_module

    for module in (emulator_module, rules_module):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {
            alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not [name for name in imported if "fields" in name], (module.__name__, imported)


# -- GET /custom_attributes (spec: Workspace schema) ----------------------------------------------
def get_attributes(handle, key=KEY, cursor=None):
    return requests.get(
        handle.url + "/custom_attributes",
        params={"cursor": cursor} if cursor else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=5,
    )


def test_custom_attributes_needs_a_known_key_with_custom_attributes_get():
    permissions = {"track-only": frozenset({"users.track"})}
    with start_emulator(KEY, key_permissions=permissions, echo_key_on_401=False) as handle:
        assert get_attributes(handle, key="nobody").status_code == 401
        refused = get_attributes(handle, key="track-only")
        assert refused.status_code == 403
        assert "custom_attributes.get" in refused.json()["message"]
        assert get_attributes(handle).status_code == 200
        # The same key lacks nothing for /users/track.
        body = {"attributes": [{"external_id": "p1", "visits": 1}]}
        assert post(handle, body, key="track-only").status_code == 201


def test_written_attributes_are_listed_with_the_type_of_their_first_value(emulator):
    first = {
        "external_id": "p1",
        "first_name": "Ann",  # standard: never a custom attribute
        "visits": 3,
        "tier": "gold",
        "joined_at": "2024-03-01T10:00:00.000Z",
        "vip": True,
        "channels": ["web", "pos"],
        "zip_code": "20240101",  # digits, not a date
        "cleared": None,  # null creates nothing
    }
    assert post(emulator, {"attributes": [first]}).status_code == 201
    # A later value of another type does not change the type (spec: fixed by the first value).
    post(emulator, {"attributes": [{"external_id": "p2", "visits": "many"}]})
    listed = get_attributes(emulator).json()
    assert listed["message"] == "success"
    types = {a["name"]: a["data_type"] for a in listed["attributes"]}
    assert types == {
        "channels": "Array",
        "joined_at": "Time",
        "tier": "String",
        "visits": "Number",
        "vip": "Boolean",
        "zip_code": "String",
    }
    assert [a["name"] for a in listed["attributes"]] == sorted(types)  # alphabetical
    assert {a["status"] for a in listed["attributes"]} == {"Active"}
    assert set(listed["attributes"][0]) == {
        "array_length",
        "data_type",
        "description",
        "name",
        "status",
        "tag_names",
    }


def test_pages_of_fifty_with_the_next_page_in_the_link_header():
    seeded = [{"name": f"attr_{n:03d}", "data_type": "String"} for n in range(120)]
    with start_emulator(KEY, custom_attributes=seeded) as handle:
        names, cursor, pages = [], None, 0
        while True:
            response = get_attributes(handle, cursor=cursor)
            pages += 1
            names += [a["name"] for a in response.json()["attributes"]]
            if "next" not in response.links:
                break
            assert response.headers["Link"].endswith('; rel="next"')
            cursor = requests.utils.urlparse(response.links["next"]["url"]).query.split("=", 1)[1]
        assert pages == 3  # 50 + 50 + 20
        assert names == [f"attr_{n:03d}" for n in range(120)]
        # Braze's documented example cursor, c2tpcDow, is the first page.
        assert get_attributes(handle, cursor="c2tpcDow").json()["attributes"][0]["name"] == (
            "attr_000"
        )
        assert get_attributes(handle, cursor="not-a-cursor").status_code == 400


def test_custom_attributes_allows_a_thousand_requests_an_hour():
    now = [1_700_000_000.0]
    with start_emulator(KEY, clock=lambda: now[0]) as handle:
        # The window is the clock hour: start at its top so all 1,000 fall inside it.
        now[0] = (now[0] // 3600) * 3600
        statuses = [handle.state.take_schema_slot() for _ in range(1_000)]
        assert all(statuses)
        assert get_attributes(handle).status_code == 429
        now[0] += 3600
        assert get_attributes(handle).status_code == 200


def test_a_blocklisted_attribute_is_dropped_without_an_error():
    seeded = [{"name": "old_score", "data_type": "Number", "status": "Blocklisted"}]
    with start_emulator(KEY, custom_attributes=seeded) as handle:
        body = {"attributes": [{"external_id": "p1", "old_score": 7, "tier": "gold"}]}
        response = post(handle, body)
        # Braze: "no new requests for the attribute will be processed"; no error entry.
        assert response.status_code == 201
        assert response.json() == {"message": "success", "attributes_processed": 1}
        assert handle.profiles == {"p1": {"tier": "gold"}}
        counters = handle.counters
        assert counters.blocklisted_dropped == 1
        assert counters.data_points == 1  # tier only
        assert handle.schema["old_score"]["status"] == "Blocklisted"


def test_the_command_line_seeds_attributes():
    from amperity_braze_assets.devtools.emulator import build_parser, options_from_args

    args = build_parser().parse_args(
        ["--api-key", KEY, "--custom-attribute", "loyaltyTier:String"]
        + ["--custom-attribute", "old_score:Number:Blocklisted"]
    )
    seeded = options_from_args(args)["custom_attributes"]
    assert seeded == (
        {"name": "loyaltyTier", "data_type": "String", "status": "Active"},
        {"name": "old_score", "data_type": "Number", "status": "Blocklisted"},
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--api-key", KEY, "--custom-attribute", "x:String:Gone"])


def test_update_existing_only_updates_held_profiles_and_creates_none(emulator):
    # The spec: `_update_existing_only: true` never creates a profile, only updates one.
    emulator.add_profile("held", first_name="Old")
    body = {
        "attributes": [
            {"external_id": "held", "first_name": "New", "_update_existing_only": True},
            {"external_id": "absent", "first_name": "Nobody", "_update_existing_only": True},
            {"external_id": "created", "first_name": "Cee"},  # default false: creates
        ]
    }
    answer = post(emulator, body)
    assert answer.status_code == 201
    payload = answer.json()
    assert payload["attributes_processed"] == 2
    assert [(e["index"], e["input_array"]) for e in payload["errors"]] == [(1, "attributes")]
    assert emulator.profiles == {"held": {"first_name": "New"}, "created": {"first_name": "Cee"}}
    assert emulator.counters.objects == 2 and emulator.counters.rejected_objects == 1


def test_a_batch_of_absent_update_only_profiles_is_a_400_creating_nothing(emulator):
    body = {
        "attributes": [
            {"external_id": f"absent-{i}", "first_name": "X", "_update_existing_only": True}
            for i in range(3)
        ]
    }
    answer = post(emulator, body)
    assert answer.status_code == 400
    assert [e["index"] for e in answer.json()["errors"]] == [0, 1, 2]
    assert emulator.profiles == {}


def test_a_braze_id_names_an_existing_profile_only(emulator):
    anonymous = emulator.add_profile(first_name="Anon")  # an SDK user without external_id
    known = emulator.add_profile("k1", first_name="Kay")
    body = {
        "attributes": [
            {"braze_id": anonymous, "first_name": "Ann"},
            {"braze_id": known, "last_name": "Lee"},
            {"braze_id": "never-assigned", "first_name": "Ghost"},
            {"braze_id": "never-assigned-2", "first_name": "G", "_update_existing_only": False},
        ]
    }
    payload = post(emulator, body).json()
    assert payload["attributes_processed"] == 2
    assert [e["index"] for e in payload["errors"]] == [2, 3]
    assert emulator.profiles_by_braze_id() == {
        anonymous: {"first_name": "Ann"},
        known: {"first_name": "Kay", "last_name": "Lee"},
    }
    # The anonymous profile has no external_id: `profiles` keys it by its braze_id.
    assert emulator.profiles[anonymous] == {"first_name": "Ann"}
    assert emulator.profiles["k1"] == {"first_name": "Kay", "last_name": "Lee"}
