"""Schemathesis against the running server: no 5xx, and every response matches the
published OpenAPI document."""

import subprocess

import pytest

from ..support.http_client import api, api_user, unique_name
from ..support.launcher import BIN

pytestmark = pytest.mark.integration


def test_api_conforms_to_its_openapi_document(live_server, tmp_path):
    server = live_server("sqlite")
    user, token = api_user(server, unique_name("st"))
    api(server, token, "POST", "/rooms", json={"name": "schema"})
    api(server, token, "POST", "/rooms", json={"name": "second"})
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{server.url}/api/v1/openapi.json",
        "--url",
        f"{server.url}/api/v1",
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "25",
        "--generation-deterministic",
        "--no-color",
        # Leave the caller's session usable: leaving or deleting happens on other data.
        "--exclude-path",
        "/rooms/{room_id}/leave",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = result.stdout[-6000:]
    print(result.stdout)
    assert result.returncode == 0, summary
    assert "passed" in summary and " 0 passed" not in summary, summary
