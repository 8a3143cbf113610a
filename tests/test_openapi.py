"""The published OpenAPI document describes exactly the API that exists, and the
responses of the API match it (Schemathesis checks the running server in CI too)."""

import re

from jsonschema import Draft202012Validator

from webchat.api.openapi import SPEC
from webchat.services import messages, rooms

from .support.accounts import bearer


def api_routes(app):
    """{(path in OpenAPI form, method)} of every /api/v1 route but the document itself."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_route_is_documented_and_nothing_else(app, client):
    served = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    assert documented == api_routes(app)


def validate(schema_name, instance):
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    errors = list(Draft202012Validator(schema).iter_errors(instance))
    assert not errors, [e.message for e in errors]


def test_real_payloads_match_the_schemas(app, client, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    messages.send_message(alice, room["id"], "hello", "c1")
    for r in client.get("/api/v1/rooms", headers=bearer(bob)).get_json()["rooms"]:
        validate("Room", r)
    page = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).get_json()
    for m in page["messages"]:
        validate("Message", m)
    for m in client.get(f"/api/v1/rooms/{room['id']}/members", headers=bearer(bob)).get_json()["members"]:
        validate("Member", m)
    validate("Error", client.get("/api/v1/rooms/999999/messages", headers=bearer(bob)).get_json())


def test_a_message_carries_its_html(app, client, alice):
    room = rooms.create_room(alice, "Formatting")
    messages.send_message(alice, room["id"], "**굵게** `code`", "c1")
    page = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(alice)).get_json()["messages"]
    for m in page:
        validate("Message", m)
    assert page[-1]["html"] == "<p><strong>굵게</strong> <code>code</code></p>"
    without = {key: value for key, value in page[-1].items() if key != "html"}
    schema = {"$ref": "#/components/schemas/Message", "components": SPEC["components"]}
    assert list(Draft202012Validator(schema).iter_errors(without)), "html must be required"
