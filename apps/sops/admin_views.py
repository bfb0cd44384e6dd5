"""The governance pages inside the admin: SOP page, version page, editor, diff, actions.

Each view parses its form, calls one service, and shows the outcome; application errors are
shown on the form with the person's input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.audit.selectors import sop_trail
from apps.core.errors import ApplicationError, EditConflict
from apps.core.markdown import render_markdown, sanitiser_removals
from apps.signatures.models import ACTION_MEANINGS
from apps.signatures.services import printed_name
from apps.signatures.unsent import keep_unsent, restore_unsent

from . import actions, permissions, selectors, services
from .diffs import side_by_side
from .forms import ActionForm, SOPCreateForm, SOPDetailsForm, VersionForm, show_application_error
from .models import SOP, ReviewDecision, SOPVersion, VersionStatus
from .panels import sop_page_panels, version_page_panels
from .validation import max_content_bytes
from .workflow import TRANSITIONS

ACTION_LABELS = {
    "submit": ("Submit for review", "The version becomes immutable and reviewers are notified.", None),
    "approve": ("Approve", "Your signed approval is recorded with the content's hash.", "Comment (optional)"),
    "reject": ("Reject", "The author sees your reason.", "Reason (required)"),
    "withdraw": (
        "Withdraw from review",
        "Takes the submission back: reviewers no longer see it, nothing is deleted, and you can start a new draft.",
        "Why (optional)",
    ),
}
# A draft (or an agent's proposal) is withdrawn by discarding it: same transition, other words.
DISCARD_LABELS = {
    "person": ("Discard draft", "The draft is kept as withdrawn in the history; the SOP is free for a new draft."),
    "agent": ("Discard proposal", "The agent's proposal is kept as withdrawn in the history, with your reason."),
}


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, **extra}


def _version_url(version: SOPVersion) -> str:
    return reverse("admin:sops_sopversion_change", args=[version.pk])


def _sop_url(sop: SOP) -> str:
    return reverse("admin:sops_sop_change", args=[sop.pk])


def sop_add(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Create an SOP (category, key, title); the creator becomes its owner."""
    if not permissions.can_create_sop(request.user):
        raise DjangoPermissionDenied
    form = SOPCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sop = services.sop_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            show_application_error(form, exc)
        else:
            messages.success(request, f"Created {sop.slug}. Write its first version now.")
            return redirect("admin:sops_sop_draft", sop.pk)
    return TemplateResponse(request, "sopgov/sop_add.html", _context(model_admin, request, form=form, title="Add SOP"))


def sop_detail(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """The SOP page: live version, version history, details form (owner/admin) and its trail."""
    if not str(object_id).isdigit():  # the admin's own change URL takes any text
        raise Http404("No such SOP.")
    sop = get_object_or_404(selectors.sop_list(), pk=int(object_id))
    can_change = permissions.can_change_sop(request.user, sop)
    form = SOPDetailsForm(request.POST or None, initial={"title": sop.title, "owner": sop.owner})
    if request.method == "POST":
        if not can_change:
            raise DjangoPermissionDenied
        if form.is_valid():
            try:
                services.sop_update(actor=request.user, sop=sop, **form.cleaned_data)
            except ApplicationError as exc:
                show_application_error(form, exc)
            else:
                messages.success(request, "Saved the SOP's details.")
                return redirect(_sop_url(sop))
        messages.error(request, "The SOP's details were not saved: see “Edit title and owner” below.")
    versions = list(selectors.version_list().filter(sop=sop).order_by("-number"))
    live = next((v for v in versions if v.status == "live"), None)
    context = _context(
        model_admin,
        request,
        sop=sop,
        versions=versions,
        live=live,
        live_rendered=render_markdown(live.content) if live else "",
        details_form=form,
        can_change=can_change,
        can_draft=permissions.can_draft(request.user, sop),
        trail=sop_trail(sop.slug),
        panels=sop_page_panels(request, sop),
        routing_tests=list(sop.routing_tests.select_related("added_by")),
        can_add_test=permissions.can_add_routing_test(request.user, sop),
        can_remove_test=permissions.can_remove_routing_test(request.user, sop),
        can_confirm_review=permissions.can_confirm_review(request.user, sop),
        signer_name=printed_name(request.user),
        title=f"{sop.slug} — {sop.title}",
        original=sop,
    )
    return TemplateResponse(request, "sopgov/sop_detail.html", context)


def _editor_response(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    sop: SOP,
    form: VersionForm,
    version: SOPVersion | None,
    title: str,
    conflict: SOPVersion | None = None,
) -> TemplateResponse:
    can_submit = version is None or permissions.can_submit(request.user, version)
    context = _context(
        model_admin,
        request,
        sop=sop,
        form=form,
        version=version,
        title=title,
        conflict=conflict,
        can_submit=can_submit,
        preview_url=reverse("admin:sops_sopversion_preview"),
        max_content_bytes=max_content_bytes(),
        live=selectors.live_version(sop),
        routing_tests=list(sop.routing_tests.all()),
    )
    return TemplateResponse(request, "sopgov/version_editor.html", context)


def _save_then_maybe_submit(
    request: HttpRequest, save: Callable[[], SOPVersion], test_questions: list[str] | None = None
) -> SOPVersion:
    """Run ``save`` (a draft service), add the new routing test questions, and, if the person
    pressed "Save and submit", submit the draft — all in one transaction, so a refused step leaves
    no half-done draft behind. Questions the SOP already has are skipped."""
    from .models import RoutingTest

    with transaction.atomic():
        version = save()
        for question in test_questions or []:
            if not RoutingTest.objects.filter(sop_id=version.sop_id, question=" ".join(question.split())).exists():
                services.routing_test_add(actor=request.user, sop=version.sop, question=question)
        if "_submit" in request.POST:
            version = services.sop_version_submit(actor=request.user, version=version)
    if version.status == "in_review":
        messages.success(request, f"{version} is in review; reviewers were notified.")
    else:
        messages.success(request, f"Saved {version} as a draft.")
    removed = sanitiser_removals(version.content)
    if removed:
        messages.warning(request, f"Saved as written, but left out when shown: {'; '.join(removed)}.")
    return version


def version_new(model_admin: admin.ModelAdmin, request: HttpRequest, sop_id: str) -> HttpResponse:
    """Start a new draft, prefilled from the live version (or ``?from=<version id>``)."""
    sop = get_object_or_404(SOP.objects.select_related("category"), pk=sop_id)
    if not permissions.can_draft(request.user, sop):
        raise DjangoPermissionDenied
    source_id = request.GET.get("from") or request.POST.get("based_on")
    source = sop.versions.filter(pk=source_id).first() if source_id and str(source_id).isdigit() else None
    source = source or selectors.live_version(sop) or sop.versions.order_by("-number").first()
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                version = _save_then_maybe_submit(
                    request,
                    lambda: services.sop_version_create(
                        actor=request.user,
                        sop=sop,
                        based_on=source,
                        **form.service_fields(),  # type: ignore[arg-type]
                    ),
                    form.test_questions(),
                )
            except ApplicationError as exc:
                show_application_error(form, exc)
            else:
                return redirect(_version_url(version))
    else:
        initial = {"content": "", "summary": "", "example_questions": "", "change_note": ""}
        if source is not None:
            initial.update(
                content=source.content, summary=source.summary, example_questions="\n".join(source.example_questions)
            )
        form = VersionForm(initial=initial)
    return _editor_response(model_admin, request, sop=sop, form=form, version=None, title=f"New draft of {sop.slug}")


def version_edit(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Edit a draft; a concurrent save is detected by its revision and nothing is lost."""
    version = get_object_or_404(SOPVersion.objects.select_related("sop__category"), pk=object_id)
    if not permissions.can_edit_draft(request.user, version):
        raise DjangoPermissionDenied
    if version.status != "draft":
        messages.error(
            request,
            f"{version} is {version.get_status_display().lower()} and can no longer change; start a new draft instead.",
        )
        return redirect(_version_url(version))
    conflict = None
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                version = _save_then_maybe_submit(
                    request,
                    lambda: services.sop_version_edit(
                        actor=request.user,
                        version=version,
                        expected_revision=form.cleaned_data.get("revision") or 0,
                        **form.service_fields(),  # type: ignore[arg-type]
                    ),
                    form.test_questions(),
                )
            except EditConflict as exc:
                show_application_error(form, exc)
                conflict = SOPVersion.objects.get(pk=version.pk)
            except ApplicationError as exc:
                show_application_error(form, exc)
            else:
                return redirect(_version_url(version))
    else:
        form = VersionForm(
            initial={
                "content": version.content,
                "summary": version.summary,
                "example_questions": "\n".join(version.example_questions),
                "change_note": version.change_note,
                "revision": version.revision,
            }
        )
    return _editor_response(
        model_admin, request, sop=version.sop, form=form, version=version, title=f"Edit {version}", conflict=conflict
    )


def version_detail(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """The version page: content, reviews, and only the action buttons this person may press."""
    version = selectors.version_detail(int(object_id)) if str(object_id).isdigit() else None
    if version is None:
        raise Http404("No such version.")
    allowed = permissions.allowed_actions(request.user, version)
    action_forms = [
        {
            "name": name,
            "label": ACTION_LABELS[name][0],
            "help": ACTION_LABELS[name][1],
            "text_label": ACTION_LABELS[name][2],
            "needs_text": TRANSITIONS[name].needs_reason,
            "url": reverse("admin:sops_sopversion_action", args=[version.pk, name]),
            "meanings": [(m.value, m.label) for m in ACTION_MEANINGS.get(name, ())],
        }
        for name in allowed
        if name in ACTION_LABELS
    ]
    for form in action_forms:
        if form["name"] == "withdraw" and version.status == VersionStatus.DRAFT:
            form["label"], form["help"] = DISCARD_LABELS["agent" if version.origin == "agent" else "person"]
    restore_unsent(request, version.pk, action_forms)
    live = selectors.live_version(version.sop)
    context = _context(
        model_admin,
        request,
        panels=version_page_panels(request, version),
        version=version,
        sop=version.sop,
        live=live,
        rendered=render_markdown(version.content),
        action_forms=action_forms,
        can_edit="edit" in allowed,
        can_draft=permissions.can_draft(request.user, version.sop),
        reviews=list(version.reviews.all()),
        signatures=list(version.signatures.all()),
        routing_check=version.routing_checks.order_by("-created_at", "-id").first(),
        routing_policy=version.sop.category.routing_policy,
        signer_name=printed_name(request.user),
        trail=[
            e
            for e in sop_trail(version.sop.slug, limit=200)
            if e.target_type == "sopversion" and e.target_id == str(version.pk)
        ],
        title=str(version),
        original=version,
    )
    return TemplateResponse(request, "sopgov/version_detail.html", context)


def version_action(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
    """Run one review action (submit, approve, reject, withdraw) from the version page and come back to it
    with the outcome. Release actions are the release layer's (``apps.releases``)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if action not in ACTION_LABELS:
        raise Http404("No such action.")
    version = get_object_or_404(SOPVersion.objects.select_related("sop"), pk=object_id)
    form = ActionForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    was_draft = version.status == VersionStatus.DRAFT
    try:
        if action == "submit":
            version = services.sop_version_submit(actor=request.user, version=version)
        elif action == "withdraw":
            version = services.sop_version_withdraw(actor=request.user, version=version, reason=text)
        else:
            version = actions.SIGNED_REVIEW_ACTIONS[action](
                actor=request.user,
                version=version,
                comment=text,
                password=request.POST.get("password", ""),
                meaning=request.POST.get("meaning") or None,
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        keep_unsent(request, version_id=version.pk, action=action)
    else:
        if action == "withdraw" and was_draft:
            messages.success(request, f"Discarded {version}; it stays in the history as withdrawn.")
        else:
            messages.success(request, _done_message(action, version))
    return redirect(_version_url(version))


def _done_message(action: str, version: SOPVersion) -> str:
    """What a review action did, in words: an approval that is not yet enough says how many more."""
    if action == "approve" and version.status == VersionStatus.IN_REVIEW:
        required = version.sop.category.min_approvals
        given = version.reviews.filter(decision=ReviewDecision.APPROVED).count()
        more = required - given
        return (
            f"Your approval of {version} is recorded: {given} of the {required} approvals "
            f"{version.sop.category.slug} requires; it needs {more} more before it can be published."
        )
    return _DONE[action].format(version=version, status=version.get_status_display().lower())


_DONE = {
    "submit": "Submitted {version} for review; reviewers were notified.",
    "approve": "You approved {version}; it is now {status}.",
    "reject": "You rejected {version}; the author was told why.",
    "withdraw": "Withdrew {version} from review; reviewers no longer see it.",
}


def version_diff(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Side-by-side diff of a version against another version of its SOP (default: the live one)."""
    version = get_object_or_404(SOPVersion.objects.select_related("sop__category"), pk=object_id)
    others = list(version.sop.versions.exclude(pk=version.pk).order_by("-number"))
    against_id = request.GET.get("against")
    other = next((v for v in others if str(v.pk) == against_id), None) if against_id else None
    if other is None:
        other = next((v for v in others if v.status == "live"), None)
    rows = side_by_side(other.content if other else "", version.content)
    field_changes = []
    if other is not None:
        if other.summary != version.summary:
            field_changes.append(("Summary", other.summary, version.summary))
        if other.example_questions != version.example_questions:
            field_changes.append(
                ("Example questions", "\n".join(other.example_questions), "\n".join(version.example_questions))
            )
    context = _context(
        model_admin,
        request,
        version=version,
        sop=version.sop,
        other=other,
        others=others,
        rows=rows,
        changed=any(r.kind != "equal" for r in rows),
        field_changes=field_changes,
        title=f"Compare {version} with {f'v{other.number}' if other else 'nothing'}",
    )
    return TemplateResponse(request, "sopgov/version_diff.html", context)


def markdown_preview(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Return the sanitised HTML of the posted ``content`` (the editor's live preview)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    content = request.POST.get("content", "")
    if len(content.encode("utf-8")) > 2 * 1024 * 1024:
        return HttpResponse("<p class='errornote'>Too large to preview.</p>", status=413)
    removed = sanitiser_removals(content)
    note = (
        format_html(
            '<p class="sopgov-warning" id="sanitised-note">Left out when shown to reviewers and agents: {}.</p>',
            "; ".join(removed),
        )
        if removed
        else ""
    )
    return HttpResponse(note + render_markdown(content))


def sop_review(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Sign a periodic review of the SOP (the live version is still valid) and come back."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    sop = get_object_or_404(SOP.objects.select_related("category"), pk=object_id)
    form = ActionForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    try:
        sop = actions.confirm_review(
            actor=request.user,
            sop=sop,
            comment=text,
            password=request.POST.get("password", ""),
            meaning=request.POST.get("meaning") or None,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Periodic review of {sop.slug} signed; next review by {sop.review_due_on:%Y-%m-%d}.")
    return redirect(_sop_url(sop))


def sop_timeline(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """One SOP's whole history, oldest first, with e-signatures shown on the decisions."""
    from apps.audit.selectors import sop_timeline as timeline

    sop = get_object_or_404(SOP.objects.select_related("category", "owner"), pk=object_id)
    entries = [{"event": e, "kind": e.action.split(".", 1)[0]} for e in timeline(sop.slug)]
    return TemplateResponse(
        request,
        "sopgov/sop_timeline.html",
        _context(
            model_admin,
            request,
            sop=sop,
            entries=entries,
            title=f"Timeline of {sop.slug}",
        ),
    )


def to_review_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Reviewers' queue: versions waiting for their decision (oldest submission first), then
    those they decided that still wait for other reviewers."""
    if not request.user.has_perm(permissions.PERM_REVIEW):
        raise DjangoPermissionDenied
    sections = [
        {
            "id": "awaiting-you",
            "title": "Waiting for your decision",
            "rows": list(selectors.versions_awaiting_review(request.user)),
            "empty": "Nothing is waiting for your review.",
        },
        {
            "id": "awaiting-others",
            "title": "You decided; waiting for other reviewers",
            "rows": list(selectors.versions_reviewed_by(request.user)),
            "empty": "None.",
        },
    ]
    return TemplateResponse(
        request,
        "sopgov/version_queue.html",
        _context(model_admin, request, sections=sections, title="To review", queue="review"),
    )


def my_versions_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Authors' list: their drafts and agents' proposals on SOPs they own, what is in review or
    approved, and what was rejected or withdrawn in the last 90 days (with the reviewer's reason)."""
    if not request.user.has_perm(permissions.PERM_DRAFT):
        raise DjangoPermissionDenied
    groups: dict[str, list[SOPVersion]] = {}
    for version in selectors.authored_versions(request.user):
        groups.setdefault(version.status, []).append(version)
    sections = [
        {"id": f"mine-{status}", "title": title, "rows": groups.get(status, []), "empty": empty}
        for status, title, empty in (
            (VersionStatus.DRAFT, "Drafts and proposals", "No open drafts."),
            (VersionStatus.IN_REVIEW, "In review", "Nothing of yours is in review."),
            (VersionStatus.REJECTED, "Rejected (last 90 days)", "Nothing rejected."),
            (VersionStatus.APPROVED, "Approved, waiting for release", "None."),
            (VersionStatus.CANARY, "In a rollout", "None."),
            (VersionStatus.WITHDRAWN, "Withdrawn or discarded (last 90 days)", "None."),
        )
    ]
    return TemplateResponse(
        request,
        "sopgov/version_queue.html",
        _context(model_admin, request, sections=sections, title="My versions", queue="mine"),
    )


def reviews_due_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """SOPs whose periodic review is overdue or due within 30 days."""
    due = list(selectors.reviews_due())
    return TemplateResponse(
        request,
        "sopgov/reviews_due.html",
        _context(
            model_admin,
            request,
            due=due,
            title="Periodic reviews due",
            soon_days=selectors.REVIEW_SOON_DAYS,
        ),
    )
