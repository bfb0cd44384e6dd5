"""What a person typed into a signed action's form (its comment or reason, and the meaning),
kept across the redirect when the action is refused — a wrong password, a lock, a rule — so the
page shows it again instead of an empty box. Kept in the session, for one version and action,
and given back once."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

SESSION_KEY = "sopgov_unsent_action"
MAX_KEPT_CHARS = 5000


def keep_unsent(request: HttpRequest, *, version_id: int, action: str) -> None:
    """Remember the refused form's posted ``text`` and ``meaning`` for ``version_id``'s ``action``."""
    request.session[SESSION_KEY] = {
        "version": version_id,
        "action": action,
        "text": request.POST.get("text", "")[:MAX_KEPT_CHARS],
        "meaning": request.POST.get("meaning") or "",
    }


def restore_unsent(request: HttpRequest, version_id: int, forms: list[dict[str, Any]]) -> None:
    """Put the kept text and meaning into the matching action form (``kept_text``,
    ``kept_meaning``) and forget them; other versions' and actions' forms are left as they are."""
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("version") != version_id:
        return
    for form in forms:
        if form["name"] == kept.get("action"):
            form["kept_text"] = kept.get("text", "")
            form["kept_meaning"] = kept.get("meaning", "")
            del request.session[SESSION_KEY]
            return
