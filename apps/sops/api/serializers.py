"""Shapes of SOPs and versions in the API. Input serializers check types only; the services
own the rules and answer with field errors."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.signatures.models import Signature, SignatureMeaning

from ..models import SOP, Category, Review, SOPVersion
from ..permissions import allowed_actions


class CategorySerializer(serializers.ModelSerializer):
    sop_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "description", "min_approvals", "sop_count"]


class SOPSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    slug = serializers.CharField(read_only=True)
    live_version = serializers.IntegerField(source="live_number", read_only=True, allow_null=True)
    open_versions = serializers.IntegerField(read_only=True)

    class Meta:
        model = SOP
        fields = [
            "id",
            "slug",
            "category",
            "key",
            "title",
            "owner",
            "live_version",
            "open_versions",
            "created_at",
            "updated_at",
        ]


class SOPCreateSerializer(serializers.Serializer):
    category = serializers.CharField(max_length=64)
    key = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=200)


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")

    class Meta:
        model = Review
        fields = ["reviewer", "decision", "comment", "content_sha256", "created_at"]


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = [
            "id",
            "signer_name",
            "meaning",
            "action",
            "method",
            "signed_at",
            "content_sha256",
            "comment",
            "attested_by",
        ]


class VersionSerializer(serializers.ModelSerializer):
    sop_id = serializers.IntegerField(read_only=True)
    sop = serializers.CharField(source="sop.slug", read_only=True)
    author = serializers.CharField(source="author.username", read_only=True)
    published_by = serializers.CharField(source="published_by.username", read_only=True, allow_null=True, default=None)
    based_on = serializers.IntegerField(source="based_on.number", read_only=True, allow_null=True, default=None)
    approvals = serializers.SerializerMethodField()
    approvals_required = serializers.IntegerField(source="sop.category.min_approvals", read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    signatures = SignatureSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = SOPVersion
        fields = [
            "id",
            "sop_id",
            "sop",
            "number",
            "status",
            "summary",
            "example_questions",
            "change_note",
            "content",
            "content_sha256",
            "origin",
            "author",
            "based_on",
            "revision",
            "approvals",
            "approvals_required",
            "reviews",
            "signatures",
            "allowed_actions",
            "created_at",
            "updated_at",
            "submitted_at",
            "decided_at",
            "published_at",
            "published_by",
            "ended_at",
        ]

    def get_approvals(self, obj: SOPVersion) -> int:
        count = getattr(obj, "approval_count", None)
        return count if count is not None else obj.reviews.filter(decision="approved").count()

    def get_allowed_actions(self, obj: SOPVersion) -> list[str]:
        request = self.context.get("request")
        return allowed_actions(request.user, obj) if request is not None else []


class VersionListSerializer(VersionSerializer):
    class Meta(VersionSerializer.Meta):
        fields = [f for f in VersionSerializer.Meta.fields if f not in ("content", "reviews", "allowed_actions")]


class VersionWriteSerializer(serializers.Serializer):
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)
    summary = serializers.CharField(allow_blank=True)
    example_questions = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, default=list
    )
    change_note = serializers.CharField(allow_blank=True)


class VersionEditSerializer(VersionWriteSerializer):
    revision = serializers.IntegerField(help_text="The revision you loaded; a mismatch answers 409.")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PublishSerializer(ReasonSerializer):
    immediate = serializers.BooleanField(
        required=False, default=False, help_text="Skip the staged rollout: 100 % of conversations at once."
    )


class SignatureFields(serializers.Serializer):
    """An e-signature given with the request (21 CFR 11.200: re-enter the password)."""

    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="Your password, re-entered to sign this decision."
    )
    meaning = serializers.ChoiceField(
        choices=SignatureMeaning.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="What your signature means; default: the action's usual meaning (approved, rejected, released …).",
    )


class SignedCommentSerializer(CommentSerializer, SignatureFields):
    pass


class SignedReasonSerializer(ReasonSerializer, SignatureFields):
    pass


class SignedPublishSerializer(PublishSerializer, SignatureFields):
    pass


class DiffSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    against = serializers.IntegerField(allow_null=True)
    unified_diff = serializers.CharField()
    changed = serializers.BooleanField()


def version_data(version: SOPVersion, context: dict[str, Any]) -> dict[str, Any]:
    """Return the full representation of ``version`` (re-read with its annotations)."""
    from ..selectors import version_detail

    fresh = version_detail(version.pk) or version
    return VersionSerializer(fresh, context=context).data
