"""Read-only audit trail endpoint for auditors (and release managers)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from apps.core.api import require_permission

from ..models import AuditAction, AuditEvent
from ..selectors import audit_event_list


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
        ]


class AuditEventFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor_label")
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    sop = filters.CharFilter(field_name="sop_slug", help_text="category/key")
    target_type = filters.CharFilter()
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "sop", "target_type", "since", "until"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first; no endpoint can change it."""

    serializer_class = AuditEventSerializer
    permission_classes = [
        require_permission(
            "audit.view_auditevent", "Only auditors, release managers and admins may read the audit trail."
        )
    ]
    filterset_class = AuditEventFilter
    queryset = audit_event_list()
