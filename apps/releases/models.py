"""What the release layer keeps of its own: notices to people about the system's decisions.

Versions, rollouts, bundles and publications are the models of ``sops``, ``rollouts`` and
``publishing``; the release layer changes them (``services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class NoticeKind(models.TextChoices):
    ROLLED_BACK = "rolled_back", "Rolled back automatically"
    PAUSED = "paused", "Paused automatically"


class ReleaseNotice(models.Model):
    """A dashboard notice to one person (an SOP's owner, a release manager) about an automatic
    rollback or pause; shown until they dismiss it. An e-mail goes with it."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="release_notices")
    rollout = models.ForeignKey("rollouts.Rollout", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "dismissed_at"], name="notice_recipient_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.rollout} → {self.recipient}"
