"""Rules on the fields of an SOP and its versions, shared by forms, the API and imports."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from apps.core.errors import InvalidInput

from .models import CATEGORY_SLUG_RE, SOP_KEY_RE

MAX_SUMMARY_CHARS = 500
MAX_CHANGE_NOTE_CHARS = 4000
MAX_EXAMPLE_QUESTIONS = 50
MAX_EXAMPLE_QUESTION_CHARS = 500
MAX_TITLE_CHARS = 200


def max_content_bytes() -> int:
    """Return the largest accepted content size in UTF-8 bytes (``SOPGOV_MAX_CONTENT_BYTES``)."""
    return int(settings.SOPGOV["MAX_CONTENT_BYTES"])


def clean_version_fields(*, content: Any, summary: Any, example_questions: Any, change_note: Any) -> dict[str, Any]:
    """Return the version fields normalised (stripped, questions de-duplicated in order).

    Raises:
        InvalidInput: with ``field_errors`` naming every field that breaks a rule: content empty
            or over the size limit, summary empty or longer than 500 characters or on several
            lines, example questions not a list of non-empty strings (≤ 50, ≤ 500 chars each),
            change note empty.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(content, str) or not content.strip():
        errors["content"] = ["Write the procedure; content may not be empty."]
    elif len(content.encode("utf-8")) > max_content_bytes():
        size = len(content.encode("utf-8"))
        errors["content"] = [f"Content is {size:,} bytes; the limit is {max_content_bytes():,} bytes."]
    if not isinstance(summary, str) or not summary.strip():
        errors["summary"] = ["Give a one-sentence summary: agents see it as the description."]
    elif len(summary.strip()) > MAX_SUMMARY_CHARS:
        errors["summary"] = [f"Keep the summary under {MAX_SUMMARY_CHARS} characters."]
    elif "\n" in summary.strip():
        errors["summary"] = ["The summary must be a single line."]
    questions: list[str] = []
    if example_questions is None:
        example_questions = []
    if not isinstance(example_questions, list) or not all(isinstance(q, str) for q in example_questions):
        errors["example_questions"] = ["Example questions must be a list of strings."]
    else:
        for q in example_questions:
            q = " ".join(q.split())
            if q and q not in questions:
                questions.append(q)
        if len(questions) > MAX_EXAMPLE_QUESTIONS:
            errors["example_questions"] = [f"At most {MAX_EXAMPLE_QUESTIONS} example questions."]
        elif any(len(q) > MAX_EXAMPLE_QUESTION_CHARS for q in questions):
            errors["example_questions"] = [
                f"Each example question must be under {MAX_EXAMPLE_QUESTION_CHARS} characters."
            ]
    if not isinstance(change_note, str) or not change_note.strip():
        errors["change_note"] = ["Say why this version exists (the change note)."]
    elif len(change_note) > MAX_CHANGE_NOTE_CHARS:
        errors["change_note"] = [f"Keep the change note under {MAX_CHANGE_NOTE_CHARS} characters."]
    if errors:
        raise InvalidInput("The version has invalid fields: " + ", ".join(sorted(errors)) + ".", field_errors=errors)
    return {
        "content": content.replace("\r\n", "\n"),
        "summary": summary.strip(),
        "example_questions": questions,
        "change_note": change_note.strip(),
    }


def clean_sop_fields(*, key: Any, title: Any) -> dict[str, str]:
    """Return ``key`` and ``title`` stripped.

    Raises:
        InvalidInput: key not matching ``[A-Za-z0-9][A-Za-z0-9_-]{0,99}``, or title empty / over 200 chars.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(key, str) or not re.match(SOP_KEY_RE, key.strip()):
        errors["key"] = ["Use 1–100 letters, digits, underscores or hyphens, starting with a letter or digit."]
    if not isinstance(title, str) or not title.strip():
        errors["title"] = ["Give the SOP a title."]
    elif len(title.strip()) > MAX_TITLE_CHARS:
        errors["title"] = [f"Keep the title under {MAX_TITLE_CHARS} characters."]
    if errors:
        raise InvalidInput("The SOP has invalid fields: " + ", ".join(sorted(errors)) + ".", field_errors=errors)
    return {"key": key.strip(), "title": title.strip()}


def clean_category_slug(slug: Any) -> str:
    """Return ``slug`` stripped. Raises ``InvalidInput`` unless it matches ``[a-z0-9][a-z0-9_]{0,63}``."""
    if not isinstance(slug, str) or not re.match(CATEGORY_SLUG_RE, slug.strip()):
        raise InvalidInput(
            "Category must be lower-case letters, digits and underscores.",
            field_errors={"category": ["Use lower-case letters, digits and underscores, e.g. billing."]},
        )
    return slug.strip()


def clean_reason(reason: Any, *, required: bool, field: str = "reason") -> str:
    """Return ``reason`` stripped; raise ``InvalidInput`` if it is required and empty or over 4000 chars."""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise InvalidInput(f"{field} must be text.", field_errors={field: ["Must be text."]})
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput(
            f"A {field.replace('_', ' ')} is required for this action.",
            field_errors={field: ["This action needs a reason."]},
        )
    if len(reason) > MAX_CHANGE_NOTE_CHARS:
        raise InvalidInput(
            f"Keep the {field} under {MAX_CHANGE_NOTE_CHARS} characters.", field_errors={field: ["Too long."]}
        )
    return reason
