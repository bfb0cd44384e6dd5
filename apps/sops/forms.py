"""Forms of the governance pages. They convert types; the services judge the content and
their ``InvalidInput`` field errors are shown on the fields (``show_application_error``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from apps.core.errors import ApplicationError, InvalidInput

from .models import Category


def show_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Put the service's error on the form: per field when it names fields, else on top."""
    if isinstance(exc, InvalidInput) and exc.field_errors:
        for field, messages in exc.field_errors.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        form.add_error(None, exc.message)


class SOPCreateForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("slug"), to_field_name="slug")
    key = forms.CharField(max_length=100, help_text="Identifier within the category, e.g. refund_policy.")
    title = forms.CharField(max_length=200)


class SOPDetailsForm(forms.Form):
    title = forms.CharField(max_length=200)
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(is_active=True, groups__name="author").distinct().order_by("username")
        )


class VersionForm(forms.Form):
    """The version editor. Example questions are one per line."""

    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "class": "sopgov-editor", "spellcheck": "true"}),
        strip=False,
        required=False,
        help_text="Markdown. The preview shows what agents and reviewers will read.",
    )
    summary = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"class": "vLargeTextField", "size": 100}),
        help_text="One sentence: when should an agent use this SOP? Agents see it as the description.",
    )
    example_questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Real customer questions this SOP answers, one per line. They improve routing.",
    )
    change_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Why this version exists; reviewers and auditors read it.",
    )
    new_test_questions = forms.CharField(
        label="Add test questions",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Questions this SOP must keep answering, one per line. Unlike example questions the router does not "
        "learn from them: the routing check asks them of every submitted version of any SOP.",
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def test_questions(self) -> list[str]:
        """Return the new test questions, one per non-empty line."""
        return [q.strip() for q in (self.cleaned_data.get("new_test_questions") or "").splitlines() if q.strip()]

    def service_fields(self) -> dict[str, object]:
        """Return the cleaned fields in the shape the version services take."""
        data = self.cleaned_data
        return {
            "content": data.get("content") or "",
            "summary": data.get("summary") or "",
            "example_questions": [q for q in (data.get("example_questions") or "").splitlines() if q.strip()],
            "change_note": data.get("change_note") or "",
        }


class ActionForm(forms.Form):
    """The text that goes with a lifecycle action: a comment (review) or a reason (release)."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)
