"""The emulator's nested custom attributes, from the spec ("Nested attributes and arrays of
objects") and Braze's array-of-objects and nested-attribute pages, over real HTTP."""

from __future__ import annotations

import json

import pytest
import requests

from amperity_braze_assets.devtools.emulator import start_emulator

KEY = "emulator-nested-key-42"
PETS = [{"id": 1, "type": "dog", "name": "Gus"}, {"id": 2, "type": "cat", "name": "Gerald"}]


@pytest.fixture
def emulator():
    with start_emulator(KEY) as handle:
        yield handle


def track(handle, *objects: dict) -> requests.Response:
    return requests.post(
        handle.url + "/users/track",
        data=json.dumps({"attributes": list(objects)}),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        timeout=5,
    )


def held(handle, name: str, person: str = "p1"):
    return handle.profiles.get(person, {}).get(name)


def test_a_list_replaces_and_add_remove_update_follow_brazes_order(emulator):
    assert track(emulator, {"external_id": "p1", "pets": PETS}).status_code == 201
    assert held(emulator, "pets") == PETS
    track(
        emulator,
        {
            "external_id": "p1",
            "_merge_objects": True,
            "pets": {
                "$add": [{"id": 3, "type": "dog", "name": "Doug"}],
                "$remove": [{"$identifier_key": "type", "$identifier_value": "cat"}],
                "$update": [
                    {"$identifier_key": "id", "$identifier_value": 1, "$new_object": {"name": "G"}}
                ],
            },
        },
    )
    assert held(emulator, "pets") == [
        {"id": 1, "type": "dog", "name": "G"},  # merged: the other fields stay
        {"id": 3, "type": "dog", "name": "Doug"},  # appended
    ]


def test_remove_takes_every_match_and_add_does_not_deduplicate(emulator):
    track(emulator, {"external_id": "p1", "pets": PETS})
    again = {"external_id": "p1", "pets": {"$add": [PETS[0]]}}
    track(emulator, again)
    assert held(emulator, "pets") == [*PETS, PETS[0]]  # Braze does not enforce unique ids
    track(
        emulator,
        {
            "external_id": "p1",
            "pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1}]},
        },
    )
    assert held(emulator, "pets") == [PETS[1]]


def test_update_without_merge_objects_overwrites_the_element(emulator):
    track(emulator, {"external_id": "p1", "pets": PETS})
    update = {"$identifier_key": "id", "$identifier_value": 2, "$new_object": {"name": "Gerry"}}
    track(emulator, {"external_id": "p1", "pets": {"$update": [update]}})
    assert held(emulator, "pets") == [PETS[0], {"name": "Gerry"}]


def test_an_object_replaces_merges_deeply_with_merge_objects_and_null_deletes(emulator):
    song = {"name": "Solea", "play": {"count": 1000, "top": True}}
    track(emulator, {"external_id": "p1", "song": song})
    track(emulator, {"external_id": "p1", "song": {"year": 1960}})
    assert held(emulator, "song") == {"year": 1960}  # replaced
    track(emulator, {"external_id": "p1", "song": song})
    track(emulator, {"external_id": "p1", "_merge_objects": True, "song": {"play": {"count": 1}}})
    assert held(emulator, "song") == {"name": "Solea", "play": {"count": 1, "top": True}}
    track(emulator, {"external_id": "p1", "song": None})
    assert held(emulator, "song") is None


def test_an_invalid_nested_value_drops_every_nested_update_of_the_request(emulator):
    track(emulator, {"external_id": "p1", "pets": PETS}, {"external_id": "p2", "song": {"a": 1}})
    response = track(
        emulator,
        {"external_id": "p1", "pets": [{"id": 9}], "tier": "gold"},
        {"external_id": "p2", "song": {"born": {"$time": "not a time"}}},
    )
    assert response.status_code == 201 and "errors" not in response.json()
    assert held(emulator, "pets") == PETS  # the valid nested value of the same request: dropped
    assert held(emulator, "song", "p2") == {"a": 1}
    assert held(emulator, "tier") == "gold"  # flat attributes are applied
    assert emulator.counters.nested_invalid_dropped == 2
    for bad in ({"k": None}, {"a.b": 1}, {"$x": 1}, {"has space": 1}, {"s": "x" * 256}):
        track(emulator, {"external_id": "p2", "song": bad})
        assert held(emulator, "song", "p2") == {"a": 1}, bad


def test_a_value_past_100_kb_is_dropped_and_the_attribute_stays(emulator):
    track(emulator, {"external_id": "p1", "pets": PETS})
    big = [{"id": n, "note": "x" * 200} for n in range(600)]  # about 130 KB of JSON
    response = track(emulator, {"external_id": "p1", "pets": big})
    assert response.status_code == 201 and "errors" not in response.json()
    assert held(emulator, "pets") == PETS
    growing = {"$add": [{"id": n, "note": "y" * 200} for n in range(10, 600)]}
    track(emulator, {"external_id": "p1", "pets": growing})
    assert held(emulator, "pets") == PETS
    assert emulator.counters.nested_too_large_dropped == 2


def test_times_inside_nested_values_and_listed_data_types(emulator):
    dates = {"birthday": {"$time": "1980-01-01"}, "wedding": {"$time": "2020-05-28T10:00:00.000Z"}}
    track(emulator, {"external_id": "p1", "dates": dates, "pets": PETS})
    assert held(emulator, "dates") == dates
    listed = requests.get(
        emulator.url + "/custom_attributes",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    ).json()["attributes"]
    assert {a["name"]: a["data_type"] for a in listed} == {
        "dates": "Object",
        "pets": "Array of Objects",
    }
