"""The auditor's filter form: every field optional, every combination a shareable URL (GET)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.sops.models import Category

from .models import AuditAction
from .selectors import AuditFilters


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        min_length=3,
        max_length=200,
        label="Text",
        widget=forms.TextInput(attrs={"placeholder": "reason, target, SOP or request id"}),
    )
    actor = forms.CharField(required=False, max_length=150, label="Actor")
    action = forms.ChoiceField(required=False, choices=[("", "any action"), *AuditAction.choices])
    sop = forms.CharField(
        required=False, max_length=170, label="SOP", widget=forms.TextInput(attrs={"placeholder": "category/key"})
    )
    category = forms.ChoiceField(required=False, choices=[])
    since = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", "any category"),
            *Category.objects.order_by("slug").values_list("slug", "slug"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise forms.ValidationError("“From” must be before “Until”.")
        return data

    def filters(self) -> AuditFilters:
        """Return the valid filters (call after ``is_valid``)."""
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            sop=data.get("sop") or "",
            category=data.get("category") or "",
            since=data.get("since"),
            until=data.get("until"),
            q=(data.get("q") or "").strip(),
        )


class AgentsSawForm(forms.Form):
    """The question of the "what did agents see?" page: an SOP (``category/key``) and a moment,
    a conversation's routing key, or both."""

    sop = forms.CharField(
        required=False, max_length=170, label="SOP", widget=forms.TextInput(attrs={"placeholder": "category/key"})
    )
    at = forms.DateTimeField(required=False, label="At", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    routing_key = forms.CharField(required=False, max_length=200, label="Conversation (routing key)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sop") and "/" not in data["sop"]:
            self.add_error("sop", "Give the SOP as category/key.")
        if not data.get("sop") and not data.get("routing_key"):
            raise forms.ValidationError("Give an SOP and a moment, a conversation's routing key, or both.")
        return data
