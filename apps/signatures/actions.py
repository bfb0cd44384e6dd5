"""The one way a person's e-signed decision is carried out, whoever calls it (admin pages, the
API, commands): the role first, then the password, then the decision.

Checking the role before anything else means someone who may never sign gets "forbidden" at
once — not a password prompt, not a refusal event in the audit trail. The password is checked
outside the decision's transaction (a wrong one is audited even though nothing happens); the
decision's service records the signature inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .services import SignatureIntent, signature_verify

T = TypeVar("T")


def sign_and_do(
    *,
    actor: Any,
    action: str,
    check: Callable[[], None],
    password: str | None,
    meaning: str | None,
    do: Callable[[SignatureIntent], T],
) -> T:
    """Run ``check`` (raises ``PermissionDenied`` when ``actor`` may not take ``action``), verify the
    re-entered ``password`` for ``action`` with ``meaning`` (``signature_verify``), then ``do`` the
    decision with the resulting signature; return what it returns.

    Raises:
        PermissionDenied (and subclasses): from ``check``, or a wrong password (``SignatureRefused``).
        SigningLocked: too many wrong passwords.
        InvalidInput: no password, or a meaning that does not fit the action.
        ApplicationError: whatever the decision's service raises.
    """
    check()
    intent = signature_verify(signer=actor, password=password or "", action=action, meaning=meaning)
    return do(intent)
