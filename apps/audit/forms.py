"""The auditor's filter form: every field optional, every combination a shareable URL (GET)."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import AuditAction
from .selectors import AuditFilters, categories_in_trail


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
    category = forms.CharField(
        required=False,
        max_length=64,
        label="Category",
        widget=forms.TextInput(attrs={"placeholder": "e.g. billing", "list": "category-options"}),
    )
    since = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def category_options(self) -> list[str]:
        """Category slugs to suggest (those the trail knows), for the field's datalist."""
        return categories_in_trail()

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
