"""Forms of the release pages."""

from __future__ import annotations

from typing import Any

from django import forms


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
