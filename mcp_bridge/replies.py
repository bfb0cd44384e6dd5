"""What each MCP tool answers, as plain functions of a ``Library``.

The MCP tools call these, and so does ``manage.py evaluate_routing``: the code path measured is
the code path served. Reply shapes keep the seed server's keys (``category``, ``sop_key``,
``sop_content``, ``sop_list``, ``error``, ``available_categories``, ``available_sops``) and add
``title``, ``version`` and ``content_sha256``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .library import Library, LiveSOP

NO_SOP_TEXT = (
    "I don't have a specific SOP for this query. Please gather the customer's specific issue "
    "details and transfer to the appropriate department."
)
MULTIPLE_SOPS_TEXT = "Multiple SOPs may apply to this query. Please select the most relevant one."
MAX_QUESTION_CHARS = 4000
MAX_NAME_CHARS = 200


OUTCOMES = ("resolved", "escalated", "complaint", "error")
MAX_ROUTING_KEY_CHARS = 200


@dataclass(frozen=True)
class Reply:
    """A tool's answer: ``payload`` (a JSON object or list), whether it is an error, the SOP
    version served and the conversation's bucket (for the tool-call log)."""

    payload: Any
    is_error: bool = False
    served: LiveSOP | None = None
    error: str = ""
    bucket: int | None = None


def _check_routing_key(routing_key: Any) -> Reply | None:
    if routing_key is not None and (not isinstance(routing_key, str) or len(routing_key) > MAX_ROUTING_KEY_CHARS):
        return invalid_arguments(f"'routing_key' must be a string of at most {MAX_ROUTING_KEY_CHARS} characters.")
    return None


def invalid_arguments(detail: str) -> Reply:
    """Return the error reply for arguments that break a rule, saying which and how."""
    return Reply({"error": "Invalid arguments", "detail": detail}, is_error=True, error=detail)


def _sop_payload(sop: LiveSOP) -> dict[str, Any]:
    return {
        "category": sop.category,
        "sop_key": sop.key,
        "sop_content": sop.content,
        "title": sop.title,
        "version": sop.version,
        "content_sha256": sop.content_sha256,
    }


def list_categories(library: Library) -> Reply:
    """Return the categories that have at least one live SOP."""
    return Reply(list(library.categories))


def specific_sop(library: Library, category: Any, sop_key: Any, routing_key: str | None = None) -> Reply:
    """Return the SOP ``category/sop_key`` as served to the conversation ``routing_key`` (stable,
    or the canary during a rollout), or an error listing what exists."""
    bad_key = _check_routing_key(routing_key)
    if bad_key is not None:
        return bad_key
    for name, value in (("category", category), ("sop_key", sop_key)):
        if not isinstance(value, str) or not value.strip():
            return invalid_arguments(f"'{name}' must be a non-empty string.")
        if len(value) > MAX_NAME_CHARS:
            return invalid_arguments(f"'{name}' is longer than {MAX_NAME_CHARS} characters.")
    if category not in library.by_category:
        return Reply(
            {"error": "Category not found", "available_categories": list(library.categories)},
            is_error=True,
            error="Category not found",
        )
    sop = library.get(category, sop_key)
    if sop is None:
        return Reply(
            {"error": "SOP key not found", "available_sops": [s.key for s in library.by_category[category]]},
            is_error=True,
            error="SOP key not found",
        )
    served, bucket = library.resolve(sop, routing_key)
    return Reply(_sop_payload(served), served=served, bucket=bucket)


def question_problem(question: Any, routing_key: str | None = None) -> Reply | None:
    """Return the error reply for arguments ``sop_for_question`` refuses (a bad routing key, an
    empty or over-long question), or ``None`` when they are fine."""
    bad_key = _check_routing_key(routing_key)
    if bad_key is not None:
        return bad_key
    if not isinstance(question, str) or not question.strip():
        return invalid_arguments("'question' must be a non-empty string: the customer's question.")
    if len(question) > MAX_QUESTION_CHARS:
        return invalid_arguments(f"'question' is longer than {MAX_QUESTION_CHARS} characters.")
    return None


def sop_for_question(
    library: Library, question: Any, routing_key: str | None = None, vectors: dict[str, Any] | None = None
) -> Reply:
    """Route ``question`` to the live SOP that answers it (``routing.Router.route``), served as
    the conversation ``routing_key`` is served it (stable or canary). ``vectors``: the question's
    embeddings computed beforehand, per space (``Router.embed``: the tool embeds off the event
    loop; batch evaluations), else they are computed here.

    Returns the SOP with up to two alternatives, or the category's SOPs when several apply
    equally, or ``category: "general"`` when nothing fits.
    """
    problem = question_problem(question, routing_key)
    if problem is not None:
        return problem
    decision = library.router.route(question, vectors)
    if decision.kind == "sop" and decision.best is not None:
        sop, bucket = library.resolve(library.sops[decision.best.index], routing_key)
        payload = _sop_payload(sop)
        payload["confidence"] = round(decision.best.confidence, 3)
        payload["alternatives"] = [
            {
                "category": library.sops[r.index].category,
                "sop_key": library.sops[r.index].key,
                "title": library.sops[r.index].title,
            }
            for r in decision.ranked[1:3]
        ]
        return Reply(payload, served=sop, bucket=bucket)
    if decision.kind == "category" and decision.category is not None:
        candidates = [
            library.sops[r.index] for r in decision.ranked if library.sops[r.index].category == decision.category
        ]
        return Reply(
            {
                "category": decision.category,
                "sop_list": [s.key for s in candidates],
                "sop_content": MULTIPLE_SOPS_TEXT,
                "sops": [
                    {
                        "sop_key": s.key,
                        "title": s.title,
                        "summary": s.summary,
                        "version": s.version,
                        "content_sha256": s.content_sha256,
                    }
                    for s in candidates
                ],
            }
        )
    return Reply({"category": "general", "sop_content": NO_SOP_TEXT})


def outcome_report(
    library: Library, routing_key: Any, category: Any, sop_key: Any, outcome: Any, version: Any = None
) -> Reply:
    """Check an outcome report and say which version it counts for; the bridge then ships it.

    Without ``version``, the version the conversation is served now is assumed (sticky
    bucketing: the one it was served). Unknown SOPs get the same errors as ``specific_sop``; a
    ``version`` above the newest one served (which the app would refuse) is an invalid argument.
    """
    if not isinstance(routing_key, str) or not routing_key.strip():
        return invalid_arguments("'routing_key' must be the conversation id (a non-empty string).")
    if outcome not in OUTCOMES:
        return invalid_arguments(f"'outcome' must be one of {', '.join(OUTCOMES)}.")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        return invalid_arguments("'version' must be a positive integer when given.")
    found = specific_sop(library, category, sop_key, routing_key)
    if found.is_error or found.served is None:
        return found
    number = version if version is not None else found.served.version
    newest = max(sop.version for sop in library.served_versions(category, sop_key))
    if number > newest:
        # The app would refuse it (no such version was ever served); say so now instead of
        # answering "recorded" for a report the app will set aside.
        return invalid_arguments(
            f"'version' {number} of {category}/{sop_key} was never served: agents are served up to "
            f"version {newest}. Omit 'version' to report on the version this conversation was served."
        )
    return Reply(
        {
            "status": "recorded",
            "category": category,
            "sop_key": sop_key,
            "version": number,
            "outcome": outcome,
            "bucket": found.bucket,
        },
        served=found.served if number == found.served.version else None,
        bucket=found.bucket,
    )
