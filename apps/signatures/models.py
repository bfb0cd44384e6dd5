"""Electronic signatures on versions (21 CFR Part 11 §11.50, §11.70, §11.200).

A signature binds a person, re-authenticated by their password in the same request, to a
decision on one exact content: the version's sha256. It records the printed name, the time and
the meaning; it is never changed or deleted (a database trigger refuses it, as for audit
events), and it is linked from the decision's audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SignatureMeaning(models.TextChoices):
    REVIEWED = "reviewed", "Reviewed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RELEASED = "released", "Released (published to agents)"
    ROLLED_BACK = "rolled_back", "Released again (rollback)"
    RETIRED = "retired", "Retired (withdrawn from agents)"
    REVIEW_CONFIRMED = "review_confirmed", "Periodic review: still valid"
    RELEASED_MORE = "released_more", "Released to more conversations (rollout advanced)"
    RELEASED_ALL = "released_all", "Released to all conversations (rollout completed)"
    WITHDRAWN = "withdrawn", "Withdrawn from conversations (rollout aborted)"


ACTION_MEANINGS: dict[str, tuple[SignatureMeaning, ...]] = {
    "approve": (SignatureMeaning.APPROVED, SignatureMeaning.REVIEWED),
    "reject": (SignatureMeaning.REJECTED,),
    "publish": (SignatureMeaning.RELEASED,),
    "rollback": (SignatureMeaning.ROLLED_BACK,),
    "retire": (SignatureMeaning.RETIRED,),
    "review": (SignatureMeaning.REVIEW_CONFIRMED,),
    "rollout_advance": (SignatureMeaning.RELEASED_MORE,),
    "rollout_complete": (SignatureMeaning.RELEASED_ALL,),
    "rollout_abort": (SignatureMeaning.WITHDRAWN,),
}
"""The meanings a signer may choose for each signed action; the first is the default."""


class SignatureMethod(models.TextChoices):
    PASSWORD = "password", "Password re-entered"
    IMPORT = "import", "Recorded by a library import (attested by the importing admin)"


class Signature(models.Model):
    """One e-signature: who (``signer``, ``signer_name`` as printed at signing), when, meaning,
    and what exactly (``version`` and its ``content_sha256``)."""

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    signer_name = models.CharField(max_length=300, help_text="Full name and username at the time of signing.")
    meaning = models.CharField(max_length=20, choices=SignatureMeaning.choices)
    action = models.CharField(max_length=16)
    method = models.CharField(max_length=8, choices=SignatureMethod.choices, default=SignatureMethod.PASSWORD)
    signed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    version = models.ForeignKey("sops.SOPVersion", on_delete=models.PROTECT, related_name="signatures")
    sop_slug = models.CharField(max_length=170, db_index=True)
    version_number = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64)
    comment = models.TextField(blank=True)
    evidence = models.JSONField(
        default=dict, blank=True, help_text="What the signer had before them, e.g. the routing check's counts and hash."
    )
    request_id = models.CharField(max_length=64, blank=True)
    attested_by = models.CharField(max_length=150, blank=True, help_text="For imports: the admin who ran it.")

    class Meta:
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.signer_name}: {self.get_meaning_display()} {self.sop_slug} v{self.version_number}"

    def manifestation(self) -> str:
        """The signature as shown and exported (§11.50): printed name, time (UTC), meaning."""
        return f"{self.signer_name} — {self.get_meaning_display()} — {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"
