"""The reviewers' "To review" queue and the authors' "My versions" list."""

from __future__ import annotations

from typing import Any

from django.test import Client

from apps.sops import services
from apps.sops.models import SOPVersion
from tests.conftest import advance, draft, sign
from tests.factories import SOPFactory


def _page(user: Any, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    return response.status_code, response.content.decode()


def test_to_review__lists_what_waits_for_this_reviewer_and_counts_it_in_the_nav(
    sop: Any, people: dict[str, Any]
) -> None:
    waiting = advance(draft(sop, people["author"]), people, "in_review")
    own_sop = SOPFactory(category=sop.category, key="own", owner=people["author_reviewer"])
    own = advance(draft(own_sop, people["author_reviewer"]), people, "in_review")
    status, page = _page(people["author_reviewer"], "/admin/sops/sopversion/to-review/")
    assert status == 200
    awaiting = page.split('id="awaiting-you"')[1].split("</table>")[0]
    assert f'data-version="{waiting.pk}"' in awaiting
    assert f'data-version="{own.pk}"' not in awaiting  # nobody reviews their own version
    assert 'id="nav-to-review">To review <span class="sopgov-nav-count">1</span>' in page


def test_to_review__decided_moves_to_waiting_for_others(sop: Any, people: dict[str, Any]) -> None:
    sop.category.min_approvals = 2
    sop.category.save()
    version = advance(draft(sop, people["author"]), people, "in_review")
    services.sop_version_approve(
        actor=people["reviewer"], version=version, comment="fine", signature=sign(people["reviewer"], "approve")
    )
    _, page = _page(people["reviewer"], "/admin/sops/sopversion/to-review/")
    assert f'data-version="{version.pk}"' not in page.split('id="awaiting-you"')[1].split("</table>")[0]
    others = page.split('id="awaiting-others"')[1].split("</table>")[0]
    assert f'data-version="{version.pk}"' in others and "1/2" in others


def test_to_review__not_a_reviewer__403(people: dict[str, Any]) -> None:
    assert _page(people["author"], "/admin/sops/sopversion/to-review/")[0] == 403
    assert _page(people["nobody"], "/admin/sops/sopversion/to-review/")[0] in (302, 403)


def test_my_versions__drafts_in_review_and_rejected_with_the_reason(sop: Any, people: dict[str, Any]) -> None:
    rejected = advance(draft(sop, people["author"]), people, "in_review")
    services.sop_version_reject(
        actor=people["reviewer"],
        version=rejected,
        comment="Step 3 contradicts the refund window.",
        signature=sign(people["reviewer"], "reject"),
    )
    open_draft = draft(sop, people["author"])
    other = draft(SOPFactory(category=sop.category, key="other", owner=people["author2"]), people["author2"])
    status, page = _page(people["author"], "/admin/sops/sopversion/mine/")
    assert status == 200
    assert f'data-version="{open_draft.pk}"' in page.split('id="mine-draft"')[1].split("</table>")[0]
    rejected_rows = page.split('id="mine-rejected"')[1].split("</table>")[0]
    assert f'data-version="{rejected.pk}"' in rejected_rows
    assert "Step 3 contradicts the refund window." in rejected_rows
    assert f'data-version="{other.pk}"' not in page
    assert SOPVersion.objects.count() == 3


def test_my_versions__not_an_author__403(people: dict[str, Any]) -> None:
    assert _page(people["reviewer"], "/admin/sops/sopversion/mine/")[0] == 403
