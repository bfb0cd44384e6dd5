"""Targets in the admin: settings validated and audited; operations only for release managers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput
from apps.publishing.agentcore import missing_settings, runtime_definition
from apps.publishing.models import Deployment, PublicationTarget
from apps.publishing.services import target_save
from tests.publishing.conftest import target_settings


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(target: PublicationTarget, **changes: Any) -> dict[str, Any]:
    fields = {k: v for k, v in target_settings().items()}
    fields.update(
        {
            "enabled": "on",
            "network_mode": "PUBLIC",
            "authorizer": "iam",
            "vpc_subnets": "[]",
            "vpc_security_groups": "[]",
            "jwt_allowed_clients": "[]",
            "jwt_allowed_audience": "[]",
            "bridge_poll_seconds": "5",
            "description": "",
        }
    )
    fields.update(changes)
    return fields


def test_admin_change__one_setting__audited_with_only_that_change(
    target: PublicationTarget, people: dict[str, Any]
) -> None:
    response = _as(people["admin"]).post(
        f"/admin/publishing/publicationtarget/{target.pk}/change/", _form(target, s3_bucket="sopgov-bundles-other")
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="target.change").latest("id")
    assert (event.before, event.after, event.actor_label) == (
        {"s3_bucket": "sopgov-bundles-test"},
        {"s3_bucket": "sopgov-bundles-other"},
        "admin",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("region", "Oregon", "An AWS region such as us-west-2."),
        ("runtime_name", "sopgov-bridge", "A letter, then up to 47 letters, digits or underscores."),
        ("execution_role_arn", "sopgov-agentcore", "An IAM role ARN"),
        ("ssm_bundle_parameter", "bundle pointer", "A parameter name starting with /"),
        ("vpc_subnets", '"subnet-1"', "A JSON list of non-empty strings"),
        ("bridge_poll_seconds", "30", "Between 1 and 10 seconds."),
    ],
)
def test_admin_change__invalid_setting__form_error_nothing_saved(
    target: PublicationTarget, people: dict[str, Any], field: str, value: str, message: str
) -> None:
    response = _as(people["admin"]).post(
        f"/admin/publishing/publicationtarget/{target.pk}/change/", _form(target, **{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert AuditEvent.objects.filter(action="target.change").count() == 1  # only the creation


def test_target_save__release_manager__refused(target: PublicationTarget, people: dict[str, Any]) -> None:
    from apps.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        target_save(actor=people["release"], target=target)
    response = _as(people["release"]).post(f"/admin/publishing/publicationtarget/{target.pk}/change/", _form(target))
    assert response.status_code == 403


def test_target_save__jwt_without_discovery_url__missing_for_deploy(people: dict[str, Any]) -> None:
    target = target_save(actor=people["admin"], target=PublicationTarget(**target_settings(authorizer="jwt")))
    assert missing_settings(target, for_runtime=True) == ["jwt_discovery_url"]
    with pytest.raises(InvalidInput) as error:
        target_save(
            actor=people["admin"],
            target=PublicationTarget(
                **target_settings(name="other", authorizer="jwt", jwt_discovery_url="https://idp.example.com/discovery")
            ),
        )
    assert "jwt_discovery_url" in error.value.field_errors


def test_runtime_definition__jwt_and_vpc__authorizer_and_network_passed(people: dict[str, Any]) -> None:
    target = PublicationTarget(
        **target_settings(
            authorizer="jwt",
            jwt_discovery_url="https://idp.example.com/.well-known/openid-configuration",
            jwt_allowed_clients=["agent-app"],
            network_mode="VPC",
            vpc_subnets=["subnet-1"],
            vpc_security_groups=["sg-1"],
        )
    )
    definition = runtime_definition(target)
    assert definition["authorizerConfiguration"] == {
        "customJWTAuthorizer": {
            "discoveryUrl": "https://idp.example.com/.well-known/openid-configuration",
            "allowedClients": ["agent-app"],
        }
    }
    assert definition["networkConfiguration"] == {
        "networkMode": "VPC",
        "networkModeConfig": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]},
    }


def test_target_page__auditor__no_operations_and_posting_one_refused(
    target: PublicationTarget, people: dict[str, Any]
) -> None:
    auditor = _as(people["auditor"])
    page = auditor.get(f"/admin/publishing/publicationtarget/{target.pk}/change/").content.decode()
    assert 'id="target-panel"' in page and 'id="operations"' not in page
    response = auditor.post(f"/admin/publishing/publicationtarget/{target.pk}/do/deploy/", {"reason": "x"}, follow=True)
    assert "Only release managers can deploy to AgentCore." in response.content.decode()
    assert not Deployment.objects.exists()
    release_page = (
        _as(people["release"]).get(f"/admin/publishing/publicationtarget/{target.pk}/change/").content.decode()
    )
    assert 'id="operations"' in release_page and "Deploy the runtime" in release_page
