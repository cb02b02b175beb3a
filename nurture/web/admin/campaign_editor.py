"""Console pages: editing one campaign step, with a live preview, a test send and versions.

Saving never changes a stored version: it writes the next one and moves enrolled
leads onto it by step key (nurture.campaigns.editing). The preview renders through
the same code as delivery, for a sample lead that is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from nurture.campaigns.branch_words import branch_lines
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.editing import (
    StepEdit,
    StepForm,
    apply_step_form,
    describe_impact,
    save_step_edit,
)
from nurture.campaigns.editing.test_send import Senders, send_test, sms_test_number
from nurture.campaigns.lifecycle import UnknownCampaign, find_campaign
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.preview import FieldProblem, Preview, preview_step
from nurture.campaigns.spec import WEEKDAYS, StepSpec
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.messages.channels.base import ChannelError
from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.text import counted
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import CampaignsUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, get_app_settings

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])

CONDITIONS = (
    ("", "Always"),
    ("sms_consent", "Only with SMS consent"),
    ("email_consent", "Only with email consent"),
)


class EditForm(StepForm):
    """The editor's form: the step's fields plus what the buttons add."""

    action: str = "preview"
    base_version: str = ""
    test_phone: str = ""


def get_senders(settings: Annotated[Settings, Depends(get_app_settings)]) -> Senders:
    """The channels a test send uses (tests override this dependency)."""
    return Senders.configured(settings)


SendersDep = Annotated[Senders, Depends(get_senders)]
EditFormData = Annotated[EditForm, Form()]


@dataclass(frozen=True)
class Loaded:
    campaign: Campaign
    version: CampaignVersion
    definition: CampaignDefinition
    step: StepSpec


def _load(session: Session, slug: str, key: str) -> Loaded:
    try:
        campaign = find_campaign(session, slug)
    except UnknownCampaign:
        raise HTTPException(404, "no such campaign") from None
    version = session.get(CampaignVersion, campaign.current_version_id or 0)
    if version is None:
        raise HTTPException(404, "no such campaign")
    definition = load_version(session, version.id)
    step = next((s for s in definition.spec.steps if s.key == key), None)
    if step is None:
        raise HTTPException(404, "no such step")
    return Loaded(campaign, version, definition, step)


def _edit_path(slug: str, key: str) -> str:
    return f"/admin/campaigns/{slug}/steps/{key}/edit"


def _merge(edit: StepEdit, preview: Preview) -> list[FieldProblem]:
    # The preview's message for a field is the more precise one (it has line numbers).
    shown = {p.field for p in preview.problems}
    return [*preview.problems, *(p for p in edit.problems if p.field not in shown)]


@dataclass(frozen=True)
class Checked:
    edit: StepEdit
    preview: Preview
    problems: list[FieldProblem]


@dataclass(frozen=True)
class StepEditor:
    """One request about one campaign step: who asks, the step, and the page to answer with."""

    request: Request
    user: StaffUser
    session: Session
    settings: Settings
    clock: Clock
    loaded: Loaded

    def check(self, form: StepForm) -> Checked:
        """The typed values as an edit and a preview, with their problems."""
        loaded, settings = self.loaded, self.settings
        edit = apply_step_form(loaded.definition, loaded.step.key, form, settings.templates_dir)
        draft = form.draft(loaded.step.key)
        preview = (
            preview_step(loaded.definition, draft, settings)
            if draft is not None
            else Preview(loaded.step.channel)
        )
        return Checked(edit, preview, _merge(edit, preview))

    def impact(self, checked: Checked) -> list[str]:
        """What saving `checked` would do to enrolled leads, in sentences."""
        loaded = self.loaded
        return describe_impact(
            self.session,
            loaded.campaign,
            checked.edit.definition or loaded.definition,
            loaded.step.key,
            # Saving writes the version after the current one, which is always the latest.
            new_version=loaded.version.number + 1,
            now=self.clock.now(),
            policy=SendingPolicy.from_settings(self.settings),
            clinic_zone=self.settings.clinic_zone,
        ).lines()

    def page(
        self,
        form: StepForm,
        *,
        checked: Checked | None = None,
        status_code: int = 200,
        test_phone: str = "",
        test_result: str = "",
        extra: list[FieldProblem] | None = None,
    ) -> Response:
        """The editor page for `form`, with the problems shown beside their fields."""
        loaded = self.loaded
        checked = checked or self.check(form)
        problems = [*(extra or []), *checked.problems]
        field_errors: dict[str, list[str]] = {}
        for problem in problems:
            field_errors.setdefault(problem.field, []).append(problem.message)
        steps = loaded.definition.spec.steps
        context: dict[str, Any] = {
            "campaign": loaded.campaign,
            "version": loaded.version,
            "step": loaded.step,
            "position": steps.index(loaded.step) + 1,
            "step_count": len(steps),
            "max_segments": loaded.definition.spec.sms_max_segments,
            "form": form,
            "preview": checked.preview,
            "problems": problems,
            "field_errors": field_errors,
            "impact": self.impact(checked),
            "conditions": CONDITIONS,
            # Shown, not edited here: saving keeps the step's `if:` and `goto:` as stored.
            "branch": branch_lines(loaded.step),
            "weekdays": WEEKDAYS,
            "test_phone": test_phone,
            "test_result": test_result,
            "edit_path": _edit_path(loaded.campaign.slug, loaded.step.key),
        }
        return admin_page(
            self.request,
            self.user,
            "campaigns/edit_step.html",
            context,
            status_code,
            section="campaigns",
        )


def _step_editor(
    request: Request,
    slug: str,
    key: str,
    user: CampaignsUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> StepEditor:
    # The guard (user) is resolved first: a refused visitor never learns what exists.
    return StepEditor(request, user, session, settings, clock, _load(session, slug, key))


Editor = Annotated[StepEditor, Depends(_step_editor)]
STEP = "/campaigns/{slug}/steps/{key}"


@router.get(STEP + "/edit")
def edit_step(editor: Editor) -> Response:
    """The step's form, its preview for the sample lead, and what saving would do."""
    loaded = editor.loaded
    return editor.page(StepForm.of_step(loaded.definition, loaded.step))


@router.post(STEP + "/edit")
def preview_or_save_step(form: EditFormData, editor: Editor) -> Response:
    """Preview the typed values (action=preview) or save them as a new version."""
    loaded, request = editor.loaded, editor.request
    checked = editor.check(form)
    if form.action != "save":
        status = 422 if checked.problems else 200
        return editor.page(form, checked=checked, status_code=status)
    stale = []
    if form.base_version and form.base_version != str(loaded.version.number):
        stale = [
            FieldProblem(
                "campaign",
                f"someone saved version {loaded.version.number} of this campaign since you "
                "opened the page; check your changes against it and save again",
            )
        ]
    if stale or checked.problems or checked.edit.definition is None:
        return editor.page(form, checked=checked, status_code=422, extra=stale)
    key = loaded.step.key
    path = _edit_path(loaded.campaign.slug, key)
    if not checked.edit.changed:
        return redirect_with_notice(
            request,
            path,
            f"Nothing changed: the campaign is still version {loaded.version.number}.",
        )
    saved = save_step_edit(
        editor.session,
        loaded.campaign,
        key,
        checked.edit,
        actor=actor(request, editor.user),
        now=editor.clock.now(),
        policy=SendingPolicy.from_settings(editor.settings),
        clinic_zone=editor.settings.clinic_zone,
    )
    editor.session.commit()
    if saved is None:
        return redirect_with_notice(request, path, "Nothing changed.")
    moves = saved.moves
    notice = (
        f"Saved {key} as version {saved.to_version} ({', '.join(saved.changed)} changed). "
        f"{counted(moves.moved, 'enrolled lead')} moved to it"
        + (f", {moves.due_now} due at once" if moves.due_now else "")
        + (f", {moves.completed} completed" if moves.completed else "")
        + "."
    )
    return redirect_with_notice(request, path, notice)


@router.post(STEP + "/test")
def send_test_message(form: EditFormData, editor: Editor, senders: SendersDep) -> Response:
    """Send the previewed step to the signed-in member of staff (email) or a typed number."""
    checked = editor.check(form)
    user = editor.user

    def again(status: int, result: str = "", problem: FieldProblem | None = None) -> Response:
        return editor.page(
            form,
            checked=checked,
            status_code=status,
            test_phone=form.test_phone,
            test_result=result,
            extra=[problem] if problem else None,
        )

    if checked.preview.problems:
        return again(422)
    phone = ""
    channel = checked.preview.channel
    if channel is Channel.SMS:
        try:
            phone = sms_test_number(form.test_phone)
        except ValueError as exc:
            return again(422, problem=FieldProblem("test_phone", str(exc)))
    try:
        send_test(checked.preview, senders, editor.settings, email_to=user.email, phone=phone)
    except (ChannelError, OSError) as exc:
        failed = FieldProblem("test", f"the {channel.value} provider refused the test: {exc}")
        return again(502, problem=failed)
    loaded = editor.loaded
    detail = {"channel": channel.value, "version": loaded.version.number}
    target = f"{loaded.campaign.slug}/{loaded.step.key}"
    who = actor(editor.request, user)
    record_audit(editor.session, who, "campaign.test_sent", editor.clock.now(), target, detail)
    editor.session.commit()
    where = f"your email ({user.email})" if channel is Channel.EMAIL else "the number you typed"
    return again(
        200,
        result=f"Test {'email' if channel is Channel.EMAIL else 'text'} sent to "
        f"{where}. Nothing was saved.",
    )


@router.post("/api" + STEP + "/preview")
def preview_api(form: StepForm, editor: Editor) -> JSONResponse:
    """The live preview: the typed fields in, the rendered parts, counts and problems out."""
    checked = editor.check(form)
    body = checked.preview.to_json()
    body["problems"] = [{"field": p.field, "message": p.message} for p in checked.problems]
    body["impact"] = editor.impact(checked)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
