"""Signing in: failed sign-ins lock the account (from any address) and the address (django-axes),
on the admin login and the API token endpoint, and a forged X-Forwarded-For changes nothing;
an idle session ends."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient


def test_admin_login__ten_wrong_passwords_from_ten_addresses__account_locked(people: dict[str, Any]) -> None:
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/admin/login/",
            {"username": "reviewer", "password": f"guess{i}"},
            REMOTE_ADDR=f"10.0.0.{i}",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
        assert response.status_code in (200, 429)
    locked = client.post("/admin/login/", {"username": "reviewer", "password": "pw"}, REMOTE_ADDR="10.0.1.1")
    assert locked.status_code == 429 and locked["Retry-After"] == str(settings.AXES_COOLOFF_TIME.seconds)
    assert "Sign-in locked" in locked.content.decode()
    # another account from a fresh address still signs in
    other = client.post("/admin/login/", {"username": "author", "password": "pw"}, REMOTE_ADDR="10.0.2.1")
    assert other.status_code == 302


def test_api_token__forged_forwarded_for__still_locked_json_429(people: dict[str, Any]) -> None:
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "auditor", "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert set(statuses[:-1]) == {400}
    locked = client.post("/api/v1/auth/token/", {"username": "auditor", "password": "pw"}, format="json")
    assert locked.status_code == 429
    body = locked.json()
    assert body["error"] == "login_locked" and body["retry_after"] == settings.AXES_COOLOFF_TIME.seconds


def test_successful_sign_in__resets_the_count(people: dict[str, Any]) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "release", "password": "guess"})
    assert client.post("/admin/login/", {"username": "release", "password": "pw"}).status_code == 302
    client.post("/admin/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "release", "password": "guess"})
    assert client.post("/admin/login/", {"username": "release", "password": "pw"}).status_code == 302


def test_session__ends_after_the_idle_time(people: dict[str, Any]) -> None:
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = Client()
    assert client.post("/admin/login/", {"username": "auditor", "password": "pw"}).status_code == 302
    assert client.get("/admin/").status_code == 200
    session = Session.objects.get()
    assert session.expire_date - timezone.now() <= timedelta(seconds=settings.SESSION_COOKIE_AGE)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # idle past the limit
    assert client.get("/admin/").status_code == 302  # back to the login page
