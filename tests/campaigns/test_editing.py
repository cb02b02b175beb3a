"""Editing a step: the form becomes a checked campaign, and enrolled leads move by key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.editing import (
    StepForm,
    apply_step_form,
    describe_impact,
    move_enrollments_to_version,
)
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.spec import CampaignSpec
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.support import START, Database


def edited(definition: CampaignDefinition, **spec_changes: Any) -> CampaignDefinition:
    """The definition with its spec fields replaced (steps given as dicts)."""
    data = {**definition.spec.model_dump(mode="json"), **spec_changes}
    spec = CampaignSpec.model_validate(data)
    return CampaignDefinition(
        spec, {name: definition.templates[name] for name in spec.template_files()}
    )


def without(definition: CampaignDefinition, *keys: str) -> CampaignDefinition:
    steps = [s.model_dump(mode="json") for s in definition.spec.steps if s.key not in keys]
    return edited(definition, steps=steps)


def with_step(definition: CampaignDefinition, key: str, **changes: Any) -> CampaignDefinition:
    steps = [
        {**s.model_dump(mode="json"), **(changes if s.key == key else {})}
        for s in definition.spec.steps
    ]
    return edited(definition, steps=steps)


def new_version(db: Database, definition: CampaignDefinition, now: datetime) -> int:
    with db.factory.begin() as session:
        sync_campaign(session, definition, now)
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.current_version_id is not None
        return campaign.current_version_id


def move(db: Database, version_id: int, settings: Settings, now: datetime) -> Any:
    with db.factory.begin() as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
        return move_enrollments_to_version(
            session,
            campaign_id,
            version_id,
            now,
            SendingPolicy.from_settings(settings),
            settings.clinic_zone,
        )


def enrol(
    db: Database, clock: ManualClock, settings: Settings, email: str, next_key: str, **values: Any
) -> int:
    """A captured lead, placed as if the dispatcher had already reached `next_key`."""
    result = capture(db.factory, clock, settings, email=email)
    with db.factory.begin() as session:
        enrollment = session.scalars(
            select(Enrollment).where(Enrollment.lead_id == result.lead_id)
        ).one()
        enrollment.next_step_key = next_key
        for name, value in values.items():
            setattr(enrollment, name, value)
        return enrollment.id


def enrollment(db: Database, enrollment_id: int) -> tuple[Enrollment, int]:
    with db.factory() as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None
        version = session.get(CampaignVersion, row.campaign_version_id)
        assert version is not None
        return row, version.number


# --- moving enrollments --------------------------------------------------------------


def test_leads_keep_their_next_step_and_due_time_when_only_the_text_changed(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    due = START + timedelta(hours=3)
    lead = enrol(db, clock, settings, "a@example.com", "sms-hello", next_due_at=due)
    changed = CampaignDefinition(
        seeded_definition.spec,
        {**seeded_definition.templates, "02-sms-hello.txt.j2": "Hi {{ first_name }}, new."},
    )
    report = move(db, new_version(db, changed, clock.now()), settings, clock.now())
    row, number = enrollment(db, lead)
    assert (number, row.next_step_key, row.next_due_at) == (2, "sms-hello", due)
    assert (report.moved, report.retimed) == (1, 0)


def test_a_changed_delay_is_recomputed_in_each_leads_zone_and_window(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    chicago = enrol(db, clock, settings, "c@example.com", "sms-hello")
    angeles = enrol(db, clock, settings, "l@example.com", "sms-hello", next_due_at=START)
    with db.factory.begin() as session:  # the second lead lives in Los Angeles
        session.execute(
            update(Lead).where(Lead.email == "l@example.com").values(timezone="America/Los_Angeles")
        )
    later = with_step(seeded_definition, "sms-hello", delay="1d")
    report = move(db, new_version(db, later, clock.now()), settings, clock.now())
    # Signed up Monday 09:00 in Chicago (07:00 in LA); a day later the window opens at 10:00.
    assert enrollment(db, chicago)[0].next_due_at == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
    assert enrollment(db, angeles)[0].next_due_at == datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
    assert (report.moved, report.retimed, report.due_now) == (2, 2, 0)


def test_leads_waiting_for_a_removed_step_continue_at_the_next_one_that_remains(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    lead = enrol(db, clock, settings, "a@example.com", "anatomy-link")
    clock.advance(timedelta(days=8))
    # The text for leads who left the anatomy email unopened goes with it.
    shorter = without(seeded_definition, "anatomy-link", "sms-tip-nudge", "sms-anatomy-short")
    report = move(db, new_version(db, shorter, clock.now()), settings, clock.now())
    row, number = enrollment(db, lead)
    assert (number, row.next_step_key) == (2, "nerve-or-muscle")
    assert row.next_due_at == START + timedelta(days=7)  # from sign-up: due at once now
    assert (report.moved, report.due_now) == (1, 1)


def test_leads_whose_remaining_steps_are_all_gone_complete_with_a_reason(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    lead = enrol(db, clock, settings, "a@example.com", "treatment-options")
    keys = [s.key for s in seeded_definition.spec.steps]
    cut = without(seeded_definition, *keys[keys.index("treatment-options") :])
    report = move(db, new_version(db, cut, clock.now()), settings, clock.now())
    row, number = enrollment(db, lead)
    assert row.status == EnrollmentStatus.COMPLETED
    assert row.next_step_key is None and row.next_due_at is None
    assert row.end_reason == "its remaining steps were removed in version 2"
    assert number == 1  # the messages it was sent still render from the version it had
    assert report.completed == 1


def test_paused_leads_move_and_stay_paused_while_ended_ones_are_left_alone(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    paused = enrol(db, clock, settings, "p@example.com", "sms-hello", status="paused")
    ended = enrol(
        db, clock, settings, "e@example.com", "sms-hello", status="exited", end_reason="booked"
    )
    changed = with_step(seeded_definition, "sms-hello", delay="3h")
    move(db, new_version(db, changed, clock.now()), settings, clock.now())
    row, number = enrollment(db, paused)
    assert (row.status, number) == (EnrollmentStatus.PAUSED, 2)
    assert row.next_due_at == START + timedelta(hours=3)
    row, number = enrollment(db, ended)
    assert (row.status, number, row.next_step_key) == (EnrollmentStatus.EXITED, 1, "sms-hello")


def test_a_waiting_message_for_a_removed_step_is_skipped_with_a_reason(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    lead = capture(db.factory, clock, settings).lead_id
    policy = SendingPolicy.from_settings(settings)
    dispatch_due(
        db.factory,
        clock.now(),
        lambda ids: None,
        batch_size=10,
        clinic_zone=settings.clinic_zone,
        policy=policy,
    )  # writes the welcome email (queued) and moves the lead on to sms-hello
    report = move(
        db,
        new_version(db, without(seeded_definition, "welcome-article"), clock.now()),
        settings,
        clock.now(),
    )
    with db.factory() as session:
        message = session.scalars(select(Message).where(Message.lead_id == lead)).one()
    assert message.status == MessageStatus.SKIPPED
    assert message.reason == "step removed in campaign version 2"
    assert report.skipped_messages == 1


def test_moving_to_a_version_of_another_campaign_is_refused(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with pytest.raises(LookupError):
        move(db, 9999, settings, clock.now())


# --- what the page says before saving --------------------------------------------------


def test_impact_counts_leads_before_at_and_past_the_edited_step(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, seeded_definition: Any
) -> None:
    enrol(db, clock, settings, "b@example.com", "sms-hello")
    enrol(db, clock, settings, "w@example.com", "anatomy-link", status="paused")
    enrol(db, clock, settings, "p@example.com", "nerve-or-muscle")
    clock.advance(timedelta(days=3, hours=12))
    sooner = with_step(seeded_definition, "anatomy-link", delay="3d")
    with db.factory() as session:
        impact = describe_impact(
            session,
            session.scalars(select(Campaign)).one(),
            sooner,
            "anatomy-link",
            new_version=2,
            now=clock.now(),
            policy=SendingPolicy.from_settings(settings),
            clinic_zone=settings.clinic_zone,
        )
    assert (impact.running, impact.paused) == (3, 1)
    assert (impact.before, impact.waiting, impact.past) == (1, 1, 1)
    assert (impact.retimed, impact.due_now) == (1, 1)
    assert impact.lines()[:2] == [
        "3 leads are enrolled (1 paused). On save they move to version 2 and continue by step key.",
        "1 waiting for this step will get the new content. The new timing recomputes their "
        "due time from sign-up: 1 would become due at once.",
    ]


# --- the form ---------------------------------------------------------------------------


def test_the_stored_step_as_a_form_changes_nothing(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    for step in seeded_definition.spec.steps:
        form = StepForm.of_step(seeded_definition, step)
        edit = apply_step_form(seeded_definition, step.key, form, settings.templates_dir)
        assert edit.problems == [] and edit.changed == ()
        assert edit.definition is not None
        assert edit.definition.checksum() == seeded_definition.checksum()


def english_only(definition: CampaignDefinition) -> CampaignDefinition:
    steps = []
    for step in definition.spec.steps:
        data = step.model_dump(mode="json")
        variants = [{**variant, "translations": {}} for variant in data["variants"]]
        steps.append({**data, "translations": {}, "variants": variants})
    return edited(definition, languages=["en"], steps=steps)


def test_switching_an_email_step_to_sms_drops_its_subject(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    seeded_definition = english_only(seeded_definition)
    step = seeded_definition.spec.step("why-stretching-alone")
    typed = {"channel": "sms", "body": "Hi {{ first_name }}\r\nshort text"}  # as browsers send
    form = StepForm.model_validate(
        {**StepForm.of_step(seeded_definition, step).model_dump(), **typed}
    )
    edit = apply_step_form(seeded_definition, step.key, form, settings.templates_dir)
    assert edit.definition is not None, edit.problems
    new = edit.definition.spec.step(step.key)
    assert (new.channel.value, new.subject, new.preheader) == ("sms", None, None)
    assert edit.definition.templates[new.template] == "Hi {{ first_name }}\nshort text"
    assert edit.changed == ("channel", "subject", "preheader", "body")


def test_a_switch_to_sms_that_would_send_a_translation_as_a_long_text_is_refused_naming_it(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    step = seeded_definition.spec.step("why-stretching-alone")
    typed = {"channel": "sms", "body": "Hi {{ first_name }}, a short text"}
    form = StepForm.model_validate(
        {**StepForm.of_step(seeded_definition, step).model_dump(), **typed}
    )
    edit = apply_step_form(seeded_definition, step.key, form, settings.templates_dir)
    assert edit.definition is None
    [problem] = edit.problems
    assert problem.field == "campaign"
    assert problem.message.startswith("hamstring-sciatica/03-why-stretching-alone.es.md.j2: ")
    assert "segments" in problem.message


def test_a_window_with_only_a_start_time_is_named(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    step = seeded_definition.spec.step("sms-hello")
    form = StepForm.of_step(seeded_definition, step).model_copy(update={"window_end": ""})
    edit = apply_step_form(seeded_definition, step.key, form, settings.templates_dir)
    assert edit.definition is None
    assert [(p.field, p.message) for p in edit.problems] == [
        ("window", "give both a start and an end time, or leave both empty for no window")
    ]


def test_a_text_over_the_campaigns_segment_limit_cannot_be_saved(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    step = seeded_definition.spec.step("sms-hello")
    form = StepForm.of_step(seeded_definition, step).model_copy(update={"body": "é’" * 100})
    edit = apply_step_form(seeded_definition, step.key, form, settings.templates_dir)
    assert edit.definition is None
    assert [p.field for p in edit.problems] == ["body"]
    assert "the campaign allows 2" in edit.problems[0].message


def test_a_changed_body_of_a_shared_template_gets_a_file_of_its_own(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    shared = seeded_definition.spec.step("sms-hello").template
    steps = [
        {**s.model_dump(mode="json"), "template": shared}
        if s.key == "sms-tip-nudge"
        else s.model_dump(mode="json")
        for s in seeded_definition.spec.steps
    ]
    definition = edited(seeded_definition, steps=steps)
    step = definition.spec.step("sms-tip-nudge")
    form = StepForm.of_step(definition, step).model_copy(update={"body": "A new nudge."})
    edit = apply_step_form(definition, step.key, form, settings.templates_dir)
    assert edit.definition is not None, edit.problems
    assert edit.definition.spec.step("sms-tip-nudge").template == "sms-tip-nudge.txt.j2"
    assert edit.definition.templates["sms-tip-nudge.txt.j2"] == "A new nudge."
    assert edit.definition.templates[shared] == definition.templates[shared]
