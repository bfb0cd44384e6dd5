"""SOP, version and category endpoints: thin wrappers over selectors and services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework import permissions as drf_permissions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput, NotFound, PermissionDenied

from .. import actions, permissions, selectors, services
from ..diffs import unified_diff
from ..models import SOP, Category, SOPVersion, VersionStatus
from .serializers import (
    CategorySerializer,
    DiffSerializer,
    ReasonSerializer,
    SignedCommentSerializer,
    SOPCreateSerializer,
    SOPSerializer,
    VersionEditSerializer,
    VersionListSerializer,
    VersionSerializer,
    VersionWriteSerializer,
    version_data,
)

F = TypeVar("F", bound=Callable[..., Any])


class CanViewSOPs(drf_permissions.BasePermission):
    """Allow people who hold a role that may read SOPs (every role)."""

    message = "Your account has no role that may read SOPs."

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated and permissions.can_view(request.user))


class SOPFilter(filters.FilterSet):
    category = filters.CharFilter(field_name="category__slug")
    owner = filters.CharFilter(field_name="owner__username")
    status = filters.ChoiceFilter(
        choices=VersionStatus.choices, method="filter_status", help_text="SOPs having a version in this state."
    )
    q = filters.CharFilter(method="filter_q", help_text="Search in key and title.")

    class Meta:
        model = SOP
        fields = ["category", "owner", "status", "q"]

    def filter_status(self, qs: QuerySet[SOP], name: str, value: str) -> QuerySet[SOP]:
        return qs.filter(versions__status=value).distinct()

    def filter_q(self, qs: QuerySet[SOP], name: str, value: str) -> QuerySet[SOP]:
        return qs.filter(Q(key__icontains=value) | Q(title__icontains=value))


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Categories and their approval policy."""

    serializer_class = CategorySerializer
    permission_classes = [CanViewSOPs]
    queryset = selectors.category_list()


class SOPViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """SOPs: list with filters, create, and each SOP's versions."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = SOPSerializer
    permission_classes = [CanViewSOPs]
    filterset_class = SOPFilter

    def get_queryset(self) -> QuerySet[SOP]:
        return selectors.sop_list()

    @extend_schema(request=SOPCreateSerializer, responses={201: SOPSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        body = SOPCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = Category.objects.filter(slug=body.validated_data["category"]).first()
        if category is None:
            raise InvalidInput(
                f"No category {body.validated_data['category']!r}.",
                field_errors={"category": [f"Choose one of {list(Category.objects.values_list('slug', flat=True))}."]},
            )
        sop = services.sop_create(
            actor=request.user, category=category, key=body.validated_data["key"], title=body.validated_data["title"]
        )
        return Response(SOPSerializer(selectors.sop_list().get(pk=sop.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=VersionListSerializer(many=True))
    @extend_schema(methods=["post"], request=VersionWriteSerializer, responses={201: VersionSerializer})
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """GET: the SOP's versions, newest first. POST: create a new draft."""
        sop = get_object_or_404(SOP.objects.select_related("category"), pk=pk)
        if request.method == "GET":
            qs = selectors.version_list().filter(sop=sop).order_by("-number")
            page = self.paginate_queryset(qs)
            data = VersionListSerializer(page, many=True, context={"request": request}).data
            return self.get_paginated_response(data)
        body = VersionWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.sop_version_create(
            actor=request.user, sop=sop, based_on=selectors.live_version(sop), **body.validated_data
        )
        return Response(version_data(version, {"request": request}), status=status.HTTP_201_CREATED)


class VersionFilter(filters.FilterSet):
    sop = filters.NumberFilter(field_name="sop_id")
    category = filters.CharFilter(field_name="sop__category__slug")
    status = filters.ChoiceFilter(choices=VersionStatus.choices)
    author = filters.CharFilter(field_name="author__username")
    origin = filters.CharFilter()

    class Meta:
        model = SOPVersion
        fields = ["sop", "category", "status", "author", "origin"]


def _transition_schema(body: type, summary: str) -> Callable[[F], F]:
    """Return the OpenAPI annotation of a lifecycle action taking ``body``."""
    return extend_schema(request=body, responses={200: VersionSerializer}, summary=summary)


class VersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Versions: read, edit drafts, and move them through the lifecycle.

    Errors: 400 invalid body, 403 role or self-approval, 409 invalid transition or edit conflict.
    """

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    permission_classes = [CanViewSOPs]
    filterset_class = VersionFilter

    def get_queryset(self) -> QuerySet[SOPVersion]:
        return selectors.version_list().order_by("-id")

    def get_serializer_class(self) -> type:
        return VersionListSerializer if self.action == "list" else VersionSerializer

    @extend_schema(request=VersionEditSerializer, responses={200: VersionSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Save a draft's fields; send the ``revision`` you loaded."""
        version = self.get_object()
        body = VersionEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        expected = fields.pop("revision")
        version = services.sop_version_edit(actor=request.user, version=version, expected_revision=expected, **fields)
        return Response(version_data(version, {"request": request}))

    def _review(self, request: Request, name: str) -> Response:
        """Check the role (403 before anything else), validate the body, then sign and decide
        through the same entry point as the admin pages (``sops.actions``)."""
        version = self.get_object()
        actions.check_review(request.user, version)
        body = SignedCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = actions.SIGNED_REVIEW_ACTIONS[name](
            actor=request.user,
            version=version,
            comment=body.validated_data["comment"],
            password=body.validated_data["password"],
            meaning=body.validated_data.get("meaning"),
        )
        return Response(version_data(version, {"request": request}))

    @extend_schema(request=None, responses={200: VersionSerializer}, summary="Submit a draft for review")
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        version = services.sop_version_submit(actor=request.user, version=version)
        return Response(version_data(version, {"request": request}))

    @extend_schema(
        request=ReasonSerializer,
        responses={200: VersionSerializer},
        summary="Withdraw a draft (discard it) or a version in review (take the submission back)",
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """The version stays, as ``withdrawn``; its author or the SOP's owner may do this."""
        version = self.get_object()
        if not permissions.can_withdraw(request.user, version):
            raise PermissionDenied("Only the version's author or the SOP's owner can withdraw it.")
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.sop_version_withdraw(
            actor=request.user, version=version, reason=body.validated_data["reason"]
        )
        return Response(version_data(version, {"request": request}))

    @_transition_schema(SignedCommentSerializer, "Approve a version in review (e-signed)")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._review(request, "approve")

    @_transition_schema(SignedCommentSerializer, "Reject a version in review (e-signed; comment required)")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._review(request, "reject")

    @extend_schema(
        parameters=[OpenApiParameter("against", int, description="Version id; default: the SOP's live version")],
        responses={200: DiffSerializer},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str | None = None) -> Response:
        """Unified diff of this version's content against another version (default: live)."""
        version = self.get_object()
        against_id = request.query_params.get("against")
        if against_id:
            if not against_id.isdigit():
                raise InvalidInput("'against' must be a version id.", field_errors={"against": ["Not an id."]})
            other = SOPVersion.objects.filter(pk=int(against_id), sop_id=version.sop_id).first()
            if other is None:
                raise NotFound(f"Version {against_id} is not a version of {version.sop.slug}.")
        else:
            other = selectors.live_version(version.sop)
        old = other.content if other else ""
        text = unified_diff(
            old,
            version.content,
            old_label=f"{version.sop.slug} v{other.number}" if other else "(nothing live)",
            new_label=f"{version.sop.slug} v{version.number}",
        )
        return Response(
            {"version": version.pk, "against": other.pk if other else None, "unified_diff": text, "changed": bool(text)}
        )
