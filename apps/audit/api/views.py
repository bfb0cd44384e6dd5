"""Read-only audit trail endpoint for auditors (and release managers)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from apps.core.api import require_permission
from apps.core.filters import IsoDateTimeFilter

from ..models import AuditAction, AuditEvent
from ..selectors import audit_event_list, text_match, within_dates


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "sop_slug",
            "before",
            "after",
            "reason",
            "request_id",
            "data",
            "seq",
            "prev_hash",
            "hash",
        ]


class AuditEventFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor_label")
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    sop = filters.CharFilter(field_name="sop_slug", help_text="category/key")
    category = filters.CharFilter(field_name="category")
    target_type = filters.CharFilter()
    # Applied together by ``filter_queryset`` (``selectors.within_dates``), not one by one.
    since = IsoDateTimeFilter(method="_applied_with_the_window", help_text="created at or after (ISO 8601)")
    until = IsoDateTimeFilter(method="_applied_with_the_window", help_text="created before (ISO 8601)")
    q = filters.CharFilter(
        method="search", min_length=3, help_text="text (3 characters or more) in the reason, target, SOP or request id"
    )

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "sop", "category", "target_type", "since", "until", "q"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(text_match(value))

    def _applied_with_the_window(self, queryset: QuerySet[AuditEvent], name: str, value: Any) -> QuerySet[AuditEvent]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        queryset = super().filter_queryset(queryset)
        return within_dates(queryset, self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until"))


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first; no endpoint can change it."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = AuditEventSerializer
    permission_classes = [
        require_permission(
            "audit.view_auditevent", "Only auditors, release managers and admins may read the audit trail."
        )
    ]
    filterset_class = AuditEventFilter
    queryset = audit_event_list()
