"""The auditor's workspace: filtered trail with keyset pages and shareable URLs, streamed
exports, the verification button, the SOP timeline and "what did agents see?"."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.selectors import AuditFilters, audit_event_search
from apps.audit.services import audit_seal
from apps.sops import services
from apps.sops.models import SOP
from tests.conftest import advance, draft
from tests.factories import CategoryFactory, SOPFactory


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _titles(sop: SOP, people: dict[str, Any], n: int) -> None:
    for i in range(n):
        services.sop_update(actor=people["author"], sop=sop, title=f"Title {i}", owner=people["author"])


def _older(html: str) -> str:
    match = re.search(r'href="([^"]+)" id="older"', html)
    assert match, "no link to older events"
    return match.group(1).replace("&amp;", "&")


def _ids(html: str) -> list[int]:
    body = html.split('<table class="sopgov-table" id="events">', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r"/admin/audit/auditevent/(\d+)/change/", body)]


def _rows(html: str) -> int:
    return len(_ids(html))


def test_trail__filters_in_the_url__only_matching_events(sop: SOP, people: dict[str, Any]) -> None:
    live = advance(draft(sop, people["author"]), people, "live")
    other = SOPFactory(category=CategoryFactory(slug="shipping"), key="delays", owner=people["author"])
    _titles(other, people, 3)
    auditor = _as(people["auditor"])
    url = "/admin/audit/auditevent/?action=version.approve&sop=billing%2Frefund_policy"
    html = auditor.get(url).content.decode()
    assert _rows(html) == 1 and "reviewer — approved" in html  # the approval, with its signature
    assert _rows(auditor.get("/admin/audit/auditevent/?category=shipping").content.decode()) == 3
    assert _rows(auditor.get("/admin/audit/auditevent/?actor=release&category=billing").content.decode()) >= 2
    assert (
        live.status == "live" and _rows(auditor.get("/admin/audit/auditevent/?q=zz-no-such-text").content.decode()) == 0
    )
    found = auditor.get("/admin/audit/auditevent/?q=shipping%2Fdel").content.decode()
    assert _rows(found) == 3 and "shipping/delays" in found  # its three title changes
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert _rows(auditor.get(f"/admin/audit/auditevent/?since={later}").content.decode()) == 0


def test_date_window__ids_out_of_time_order__every_window_exact(
    sop: SOP, people: dict[str, Any], unguarded: Any
) -> None:
    """The id clamp of a date filter never drops an event, even where a later id carries an
    earlier time (two writers racing between taking the time and inserting)."""
    _titles(sop, people, 10)
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    base = timezone.now() - timedelta(days=30)
    offsets = [0, 3, 1, 2, 7, 5, 4, 9, 6, 8, 10, 12][: len(ids)]  # hours; ids not in time order
    assert len(ids) >= 10
    for pk, hours in zip(ids, offsets, strict=False):
        unguarded("UPDATE audit_auditevent SET created_at = %s WHERE id = %s", [base + timedelta(hours=hours), pk])
    created = dict(AuditEvent.objects.values_list("id", "created_at"))
    moments = sorted({*created.values(), base - timedelta(hours=1), base + timedelta(days=1)})
    for since in [None, *moments]:
        for until in [None, *moments]:
            if since and until and since >= until:
                continue
            expected = {
                pk for pk, at in created.items() if (since is None or at >= since) and (until is None or at < until)
            }
            found = set(audit_event_search(AuditFilters(since=since, until=until)).values_list("id", flat=True))
            assert found == expected, (since, until)


def test_date_window__page_of_an_old_month__one_extra_query_newest_first(sop: SOP, people: dict[str, Any]) -> None:
    _titles(sop, people, 4)
    auditor = _as(people["auditor"])
    auditor.get("/admin/audit/auditevent/")  # warm the session
    with CaptureQueriesContext(connection) as plain:
        auditor.get("/admin/audit/auditevent/")
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    with CaptureQueriesContext(connection) as dated:
        html = auditor.get(f"/admin/audit/auditevent/?since={since}").content.decode()
    assert len(dated) == len(plain) + 1
    shown = _ids(html)
    assert shown == sorted(shown, reverse=True) and len(shown) >= 4
    api = auditor.get(f"/api/v1/audit-events/?since={since}Z&actor=author")
    assert api.status_code == 200, api.content
    body = api.json()
    assert {e["actor"] for e in body["results"]} == {"author"} and body["count"] >= 4
    old = auditor.get("/api/v1/audit-events/?until=2000-01-01T00:00:00Z").json()
    assert old["count"] == 0 and old["results"] == []


def test_trail__since_after_until_or_two_letters__error_shown_not_a_crash(people: dict[str, Any]) -> None:
    html = _as(people["auditor"]).get("/admin/audit/auditevent/?since=2026-02-01T00:00&until=2026-01-01T00:00")
    assert html.status_code == 200 and "“From” must be before “Until”." in html.content.decode()
    short = _as(people["auditor"]).get("/admin/audit/auditevent/?q=ab").content.decode()
    assert "at least 3 characters" in short


def test_trail__invalid_filter__lists_nothing_rather_than_everything(sop: SOP, people: dict[str, Any]) -> None:
    _titles(sop, people, 2)
    html = _as(people["auditor"]).get("/admin/audit/auditevent/?since=notadate").content.decode()
    assert "Enter a valid date" in html or "valid date" in html
    assert _rows(html) == 0 and "Fix the filter above to list events." in html


def test_trail__keyset_pages__no_overlap_and_constant_queries(sop: SOP, people: dict[str, Any]) -> None:
    auditor = _as(people["auditor"])
    auditor.get("/admin/audit/auditevent/")  # warm the session and content types
    _titles(sop, people, 5)
    with CaptureQueriesContext(connection) as few:
        auditor.get("/admin/audit/auditevent/?category=billing")
    _titles(sop, people, 115)
    with CaptureQueriesContext(connection) as many:
        first = auditor.get("/admin/audit/auditevent/?category=billing").content.decode()
    assert len(many) == len(few)  # no COUNT, no N+1: the cost does not grow with the data
    assert _rows(first) == 50
    older = _older(first)
    assert "category=billing" in older
    second = auditor.get(f"/admin/audit/auditevent/{older}").content.decode()
    third = auditor.get(f"/admin/audit/auditevent/{_older(second)}").content.decode()
    assert (_rows(second), _rows(third)) == (50, 20) and 'id="older"' not in third
    pages = _ids(first) + _ids(second) + _ids(third)
    expected = list(AuditEvent.objects.filter(category="billing").order_by("-id").values_list("id", flat=True))
    assert pages == expected  # newest first, every event once


def test_export__csv_and_json__streamed_filtered_with_signatures(sop: SOP, people: dict[str, Any]) -> None:
    advance(draft(sop, people["author"]), people, "live")
    audit_seal()
    auditor = _as(people["auditor"])
    response = auditor.get("/admin/audit/auditevent/export.csv?sop=billing%2Frefund_policy")
    assert response.streaming and response["Content-Disposition"].startswith('attachment; filename="sopgov-audit-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = AuditEvent.objects.filter(sop_slug="billing/refund_policy").count()
    assert len(rows) == expected and {r["sop_slug"] for r in rows} == {"billing/refund_policy"}
    approval = next(r for r in rows if r["action"] == "version.approve")
    assert json.loads(approval["data"])["signature"]["signer"] == "reviewer"
    assert approval["hash"] and approval["seq"]
    as_json = json.loads(
        b"".join(auditor.get("/admin/audit/auditevent/export.json?action=version.go_live").streaming_content)
    )
    assert [e["action"] for e in as_json] == ["version.go_live"]
    assert as_json[0]["data"]["signature"]["meaning"] == "released"
    assert auditor.get("/admin/audit/auditevent/export.xml").status_code == 404


def test_workspace__people_without_the_audit_role__refused(sop: SOP, people: dict[str, Any]) -> None:
    for url in (
        "/admin/audit/auditevent/",
        "/admin/audit/auditevent/export.csv",
        "/admin/release/agents-saw/",
    ):
        assert _as(people["author"]).get(url).status_code == 403
    assert _as(people["author"]).post("/admin/audit/auditevent/verify/").status_code == 403


def test_verify_button__runs_and_shows_the_verdict(
    sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _titles(sop, people, 3)
    audit_seal()
    auditor = _as(people["auditor"])
    with django_capture_on_commit_callbacks(execute=True):
        response = auditor.post("/admin/audit/auditevent/verify/")
    assert response.status_code == 302
    page = auditor.get(response["Location"])
    assert "Every link holds" in page.content.decode()
    polled = auditor.get(response["Location"], HTTP_ACCEPT="application/json").json()
    assert (polled["status"], polled["progress"], polled["first_break"]) == ("intact", 100, None)
    assert polled["checked"] == polled["head_seq"] >= 3
    assert AuditEvent.objects.filter(action="audit.verify", actor=people["auditor"]).exists()


def test_timeline__versions_reviews_signatures_rollout_and_bundles_in_order(
    sop: SOP, people: dict[str, Any], fast_plan: Any
) -> None:
    advance(draft(sop, people["author"]), people, "live")
    advance(draft(sop, people["author"], content="## v2"), people, "live")  # through a rollout
    html = _as(people["auditor"]).get(f"/admin/sops/sop/{sop.pk}/timeline/").content.decode()
    labels = (
        "Draft created",
        "Approved",
        "Went live",
        "Canary started",
        "Rollout started",
        "Superseded",
        "Rollout completed",
    )
    order = [html.index(label) for label in labels]
    assert order == sorted(order)
    assert "e-signed by release, meaning “released”" in html
    assert "Bundle published" in html
    assert 'sopgov-in_review">In review</span>' in html  # states as people read them


def test_export__csv_cells_that_look_like_formulas__neutralised_json_unchanged(
    sop: SOP, people: dict[str, Any]
) -> None:
    from apps.audit.models import AuditAction
    from apps.audit.services import audit_record

    for reason in ('=HYPERLINK("http://evil.example")', "+1", "-2+3", "@SUM(A1)", "\tx", "plain"):
        audit_record(
            actor=people["author"], action=AuditAction.SOP_UPDATE, target=sop, sop_slug=sop.slug, reason=reason
        )
    audit_seal()
    auditor = _as(people["auditor"])
    url = "/admin/audit/auditevent/export.{}?action=sop.update"
    rows = list(csv.DictReader(io.StringIO(b"".join(auditor.get(url.format("csv")).streaming_content).decode())))
    assert sorted(r["reason"] for r in rows) == sorted(
        ['\'=HYPERLINK("http://evil.example")', "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"]
    )
    assert all(not r["actor_label"].startswith("'") and r["data"] for r in rows)
    as_json = json.loads(b"".join(auditor.get(url.format("json")).streaming_content))
    assert '=HYPERLINK("http://evil.example")' in {e["reason"] for e in as_json}
