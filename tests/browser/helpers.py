"""Helpers for the browser tests: viewports, screenshots, accounts made over the API."""
from pathlib import Path

import requests

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
MOBILE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": DESKTOP, "mobile": MOBILE}
PASSWORD = "correct horse battery"


def shot(page, name):
    """Save a full-page screenshot as test-artifacts/<name>.png (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def create_user(server, username, password=PASSWORD):
    """An account made through the JSON API, for a test that needs one to exist already."""
    response = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]
