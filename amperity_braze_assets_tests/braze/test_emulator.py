"""The emulator enforces the spec: one request at a time over real HTTP on loopback."""

from __future__ import annotations

import json

import pytest
import requests

from amperity_braze_assets.braze.emulator import STATE_PATH, start_emulator

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
