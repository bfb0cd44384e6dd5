"""The governance pages in the admin: role-aware buttons, actions, editor, diff, XSS safety."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.sops.models import SOP, SOPVersion
from tests.conftest import CONTENT, advance, draft


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def actions_on_page(html: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', html))


@pytest.mark.parametrize(
    ("role", "state", "expected"),
    [
        ("author", "draft", {"submit", "withdraw"}),
        ("reviewer", "draft", set()),
        ("reviewer", "in_review", {"approve", "reject"}),
        ("author", "in_review", {"withdraw"}),
        ("release", "in_review", set()),
        ("release", "approved", {"publish"}),
        ("reviewer", "approved", set()),
        ("release", "live", {"retire"}),
        ("auditor", "draft", set()),
        ("auditor", "in_review", set()),
        ("auditor", "approved", set()),
        ("auditor", "live", set()),
    ],
)
def test_version_page__buttons__only_allowed_ones(
    role: str, state: str, expected: set[str], sop: SOP, people: dict[str, Any]
) -> None:
    version = advance(draft(sop, people["author"]), people, state)
    response = login(people[role]).get(f"/admin/sops/sopversion/{version.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert actions_on_page(html) == expected
    assert ('id="edit"' in html) == (role == "author" and state == "draft")


def test_version_page__self_review__no_review_buttons_only_withdraw(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author_reviewer"]), people, "in_review")
    html = login(people["author_reviewer"]).get(f"/admin/sops/sopversion/{version.pk}/change/").content.decode()
    assert actions_on_page(html) == {"withdraw"}  # their own submission: no approve or reject


@pytest.mark.parametrize(
    ("role", "action", "state", "allowed"),
    [
        ("author", "submit", "draft", True),
        ("reviewer", "submit", "draft", False),
        ("reviewer", "approve", "in_review", True),
        ("auditor", "approve", "in_review", False),
        ("reviewer", "reject", "in_review", True),
        ("release", "publish", "approved", True),
        ("author", "publish", "approved", False),
        ("release", "retire", "live", True),
        ("reviewer", "retire", "live", False),
    ],
)
# (publish and retire are the release layer's, at /admin/release/versions/…)
def test_admin_action__post__allowed_or_refused(
    role: str, action: str, state: str, allowed: bool, sop: SOP, people: dict[str, Any]
) -> None:
    version = advance(draft(sop, people["author"]), people, state)
    client = login(people[role])
    url = (
        f"/admin/release/versions/{version.pk}/{action}/"
        if action in ("publish", "retire")
        else f"/admin/sops/sopversion/{version.pk}/do/{action}/"
    )
    response = client.post(url, {"text": "because", "password": "pw"}, follow=True)
    assert response.status_code == 200
    version.refresh_from_db()
    messages = [str(m) for m in response.context["messages"]]
    if allowed:
        assert version.status != state
        audit_action = {"publish": "version.go_live"}.get(action, f"version.{action}")
        assert AuditEvent.objects.filter(action=audit_action, actor=people[role]).exists()
    else:
        assert version.status == state
        assert any("Only" in m for m in messages), messages


def test_admin_action__self_approval__refused_with_message(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author_reviewer"]), people, "in_review")
    response = login(people["author_reviewer"]).post(
        f"/admin/sops/sopversion/{version.pk}/do/approve/", {"text": "", "password": "pw"}, follow=True
    )
    assert any("own version" in str(m) for m in response.context["messages"])
    version.refresh_from_db()
    assert version.status == "in_review"


def test_admin_action__first_of_two_approvals__says_how_many_more(sop: SOP, people: dict[str, Any]) -> None:
    sop.category.min_approvals = 2
    sop.category.save()
    version = advance(draft(sop, people["author"]), people, "in_review")
    response = login(people["reviewer"]).post(
        f"/admin/sops/sopversion/{version.pk}/do/approve/", {"text": "", "password": "pw"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Your approval of {version} is recorded: 1 of the 2 approvals billing requires; "
        "it needs 1 more before it can be published."
    ]
    second = login(people["reviewer2"]).post(
        f"/admin/sops/sopversion/{version.pk}/do/approve/", {"text": "", "password": "pw"}, follow=True
    )
    assert [str(m) for m in second.context["messages"]] == [f"You approved {version}; it is now approved."]


def test_admin_action__get__405(sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    assert login(people["author"]).get(f"/admin/sops/sopversion/{version.pk}/do/submit/").status_code == 405


def test_editor__new_draft__prefilled_from_live_and_saved(live_version: SOPVersion, people: dict[str, Any]) -> None:
    client = login(people["author2"])
    page = client.get(f"/admin/sops/sop/{live_version.sop_id}/draft/")
    assert page.status_code == 200
    assert page.context["form"].initial["content"] == CONTENT
    response = client.post(
        f"/admin/sops/sop/{live_version.sop_id}/draft/",
        {
            "content": CONTENT + "\n3. Close the case.",
            "summary": "Use for refunds.",
            "example_questions": "Refund?\nMoney back?\n",
            "change_note": "Add closing step",
            "_submit": "1",
        },
    )
    assert response.status_code == 302
    v2 = SOPVersion.objects.get(sop=live_version.sop, number=2)
    assert (v2.status, v2.author, v2.based_on_id) == ("in_review", people["author2"], live_version.pk)
    assert v2.example_questions == ["Refund?", "Money back?"]


def test_editor__invalid__errors_shown_and_input_kept(sop: SOP, people: dict[str, Any]) -> None:
    client = login(people["author"])
    response = client.post(
        f"/admin/sops/sop/{sop.pk}/draft/",
        {
            "content": "## my careful text",
            "summary": "",
            "example_questions": "",
            "change_note": "",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Give a one-sentence summary" in html
    assert "## my careful text" in html
    assert SOPVersion.objects.count() == 0


def test_editor__concurrent_save__conflict_shown_and_text_kept(sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    client = login(people["author"])
    form = {"content": "## first tab", "summary": "s", "example_questions": "", "change_note": "n", "revision": "1"}
    assert client.post(f"/admin/sops/sopversion/{version.pk}/edit/", form).status_code == 302
    response = client.post(f"/admin/sops/sopversion/{version.pk}/edit/", {**form, "content": "## second tab"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="conflict"' in html
    assert "## second tab" in html  # the unsaved text is still in the editor
    version.refresh_from_db()
    assert version.content == "## first tab"


def test_editor__someone_elses_draft__403(sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    assert login(people["author2"]).get(f"/admin/sops/sopversion/{version.pk}/edit/").status_code == 403
    assert login(people["auditor"]).get(f"/admin/sops/sop/{sop.pk}/draft/").status_code == 403


XSS = (
    "# Title\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n"
    '<img src=x onerror=alert(1)>\n\n<a href="#" onclick="alert(1)">a</a>\n<iframe src=//evil></iframe>'
)


def test_xss__version_page_and_preview__sanitised(sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"], content=XSS)
    client = login(people["reviewer"])
    html = client.get(f"/admin/sops/sopversion/{version.pk}/change/").content.decode()
    rendered = html.split('id="rendered">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in rendered
    assert "onerror" not in rendered and "onclick" not in rendered
    assert "javascript:" not in rendered
    assert "<iframe" not in rendered
    assert "<h1>Title</h1>" in rendered
    preview = login(people["author"]).post("/admin/sops/sopversion/preview/", {"content": XSS}).content.decode()
    note, shown = preview.split("</p>", 1)
    assert "<script" not in shown and "onerror" not in shown and "javascript:" not in shown
    # the author is told what was left out
    assert note.startswith('<p class="sopgov-warning" id="sanitised-note">Left out when shown')
    assert "&lt;script&gt;" in note and "&lt;iframe&gt;" in note and "event-handler" in note
    assert "javascript:" in note


def test_markdown__images_from_other_sites_not_loaded_and_the_author_told(sop: SOP, people: dict[str, Any]) -> None:
    content = "## Steps\n![logo](https://tracker.example/p.png)\n![local](/static/sopgov/logo.png)"
    client = login(people["author"])
    preview = client.post("/admin/sops/sopversion/preview/", {"content": content}).content.decode()
    assert "tracker.example" not in preview.split("</p>", 1)[1]
    assert '<img alt="local" src="/static/sopgov/logo.png">' in preview
    assert "images from other sites" in preview
    response = client.post(
        f"/admin/sops/sop/{sop.pk}/draft/",
        {"content": content, "summary": "s", "change_note": "c", "example_questions": ""},
        follow=True,
    )
    assert any("left out when shown: images from other sites" in str(m) for m in response.context["messages"])


def test_diff_page__shows_changed_lines(live_version: SOPVersion, people: dict[str, Any]) -> None:
    v2 = draft(live_version.sop, people["author"], content=CONTENT.replace("Follow", "Apply"), summary="New summary")
    response = login(people["reviewer"]).get(f"/admin/sops/sopversion/{v2.pk}/diff/")
    rows = response.context["rows"]
    changed = [r for r in rows if r.kind != "equal"]
    assert [(r.left, r.right) for r in changed] == [("2. Follow the procedure.", "2. Apply the procedure.")]
    assert response.context["field_changes"][0][0] == "Summary"


def test_sop_list__filters_and_search(live_version: SOPVersion, people: dict[str, Any]) -> None:
    client = login(people["auditor"])
    assert "refund_policy" in client.get("/admin/sops/sop/?status=live").content.decode()
    assert "refund_policy" not in client.get("/admin/sops/sop/?status=not_live").content.decode()
    assert "refund_policy" in client.get("/admin/sops/sop/?q=refund").content.decode()
    assert "refund_policy" not in client.get("/admin/sops/sop/?q=warranty").content.decode()


def test_auditor__audit_log_readable_not_changeable(live_version: SOPVersion, people: dict[str, Any]) -> None:
    client = login(people["auditor"])
    listing = client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    assert "Published" in listing.content.decode()
    event = AuditEvent.objects.first()
    assert event is not None
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/sops/sop/add/").status_code == 403


def test_author__audit_log__forbidden(people: dict[str, Any], db: Any) -> None:
    assert login(people["author"]).get("/admin/audit/auditevent/").status_code == 403


def test_dashboard__reviewer__sees_versions_awaiting_review(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    response = login(people["reviewer"]).get("/admin/")
    assert [v.pk for v in response.context["awaiting_review"]] == [version.pk]
    assert "my_drafts" not in response.context


def test_token_issue__shown_once(people: dict[str, Any], db: Any) -> None:
    client = login(people["admin"])
    response = client.post("/admin/agents/agenttoken/add/", {"name": "support-bot", "scopes": ["sop:read"]})
    assert response.status_code == 200
    raw = response.context["issued"]["raw"]
    assert raw.startswith("sgv_")
    listing = client.get("/admin/agents/agenttoken/").content.decode()
    assert raw not in listing
    assert raw[:12] in listing


def test_agent_proposal__owner_starts_a_draft_from_it(live_version: SOPVersion, people: dict[str, Any]) -> None:
    from apps.agents.services import agent_token_issue, sop_change_propose

    token, _ = agent_token_issue(actor=None, name="bot", scopes=["sop:propose"])
    proposal = sop_change_propose(
        token=token,
        category="billing",
        sop_key="refund_policy",
        content="## Agent text",
        rationale="Customers ask about gift cards",
    )
    client = login(people["author"])
    page = client.get(f"/admin/sops/sopversion/{proposal.pk}/change/").content.decode()
    assert f"?from={proposal.pk}" in page
    assert "proposed by an agent" in page
    editor = client.get(f"/admin/sops/sop/{live_version.sop_id}/draft/?from={proposal.pk}")
    assert editor.context["form"].initial["content"] == "## Agent text"


def nav_links(html: str) -> list[str]:
    nav = html[html.index('<nav class="sopgov-nav"') : html.index("</nav>")]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("author", {"SOPs", "My versions", "Periodic reviews", "Rollouts"}, {"To review", "Audit trail", "Targets"}),
        ("auditor", {"Audit trail", "What agents saw", "Tool calls", "Publications"}, set()),
        ("release", {"Rollouts", "Publications", "Targets", "Bridges", "Audit trail"}, set()),
        ("reviewer", {"SOPs", "Versions", "To review"}, {"My versions", "Audit trail", "Targets", "Bridges"}),
    ],
)
def test_the_navigation_offers_each_role_its_pages(people: dict[str, Any], role: str, shown: set, hidden: set) -> None:
    response = login(people[role]).get("/admin/")
    links = nav_links(response.content.decode())
    assert shown <= set(links)
    assert not hidden & set(links)


def test_sop_details__title_of_only_spaces__error_shown_in_an_open_section(
    live_version: SOPVersion, people: dict[str, Any]
) -> None:
    sop = live_version.sop
    response = login(people["author"]).post(
        f"/admin/sops/sop/{sop.pk}/change/", {"title": "   ", "owner": people["author"].pk}, follow=True
    )
    html = response.content.decode()
    assert '<details class="sopgov-details" id="sop-details" open>' in html
    assert "This field is required." in html
    assert any("were not saved" in str(m) for m in response.context["messages"])
    sop.refresh_from_db()
    assert sop.title == "Refund policy"


def test_sop_page__shows_the_live_content(live_version: SOPVersion, people: dict[str, Any]) -> None:
    html = login(people["auditor"]).get(f"/admin/sops/sop/{live_version.sop.pk}/change/").content.decode()
    section = html.split('id="live-content"', 1)[1].split("</details>", 1)[0]
    assert "What agents are served now: v1" in section
    assert "Verify the customer&#x27;s identity." in section or "Verify the customer's identity." in section
