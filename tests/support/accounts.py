"""Signing in, for the in-process tests and the ones against a real server alike: the
one test password, a test client logged in through the form, a bearer header."""

from webchat.services import accounts

PASSWORD = "correct horse battery"


def login(client, user, password=PASSWORD):
    """Log `client` in through the real form."""
    response = client.post("/auth/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.text
    return client


def bearer(user):
    """An Authorization header with a fresh access token for `user`."""
    return {"Authorization": f"Bearer {accounts.issue_access_token(user)['access_token']}"}
