"""Campaign-as-code export and import: round trips exact, bad archives refused naming the file."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from nurture.campaigns.archive import MAX_ARCHIVE_BYTES, unpack_campaign
from nurture.campaigns.definition import CampaignDefinition, CampaignFileError, load_campaign_dir
from nurture.campaigns.exchange import campaign_yaml, export_zip, write_folder
from nurture.campaigns.importing import ImportRefused, import_zip
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.sync import load_version, sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry
from nurture.staff.service import Actor
from tests.factories import capture
from tests.support import REPO, Database

SEEDED = REPO / "templates" / "campaigns" / "hamstring-sciatica"
STAFF = Actor("mara@riverside-pt.example")


def stored(db: Database, slug: str = "hamstring-sciatica") -> CampaignDefinition:
    with db.factory() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.slug == slug)).one()
        assert campaign.current_version_id is not None
        return load_version(session, campaign.current_version_id)


def import_bytes(db: Database, clock: ManualClock, settings: Settings, data: bytes) -> object:
    with db.factory.begin() as session:
        return import_zip(session, data, settings, STAFF, clock.now())


def version_count(db: Database) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count(CampaignVersion.id))) or 0


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def files_of(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def test_exported_yaml_keeps_schema_order_and_leaves_out_defaults(
    seeded_definition: CampaignDefinition,
) -> None:
    text = campaign_yaml(seeded_definition.spec)
    assert text.startswith(
        "slug: hamstring-sciatica\nname: Tight hamstrings and the sciatic nerve\n"
    )
    assert "exit_goal" not in text and "sms_max_segments" not in text  # both the default
    assert "  - key: sms-hello\n    delay: 2h\n    channel: sms\n" in text
    assert "      start: '10:00'\n      end: '18:00'\n" in text
    assert "{" not in text.replace("{{", "").replace("}}", "")  # block style throughout


def test_the_repo_campaign_exported_loads_with_the_repo_folders_checksum(
    tmp_path: Path, seeded_definition: CampaignDefinition
) -> None:
    folder = write_folder(seeded_definition, tmp_path, overwrite=False)
    assert load_campaign_dir(folder).checksum() == load_campaign_dir(SEEDED).checksum()
    for template in seeded_definition.templates:
        assert (folder / template).read_bytes() == (SEEDED / template).read_bytes()


def test_importing_an_export_creates_no_new_version(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    result = import_bytes(db, clock, settings, export_zip(stored(db)))
    assert result.changed is False
    assert version_count(db) == 1


def test_export_import_export_is_byte_identical(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    seeded_definition: CampaignDefinition,
) -> None:
    # A campaign whose text has unicode, a multi-line description and a non-default cap.
    spec = seeded_definition.spec.model_copy(
        update={
            "slug": "knee-pain",
            "description": "Für Läufer — two lines:\nsecond line ✓",
            "sms_max_segments": 3,
        }
    )
    original = CampaignDefinition(spec, seeded_definition.templates)
    first = export_zip(original)
    import_bytes(db, clock, settings, first)
    assert stored(db, "knee-pain").checksum() == original.checksum()
    assert export_zip(stored(db, "knee-pain")) == first
    assert "Für Läufer — two lines:\n  second line ✓" in files_of(first)[
        "knee-pain/campaign.yaml"
    ].decode("utf-8")


def test_an_imported_campaign_new_to_the_database_is_a_draft_and_audited(
    db: Database, clock: ManualClock, settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    result = import_bytes(db, clock, settings, export_zip(seeded_definition))
    assert result.created is True
    with db.factory() as session:
        assert session.scalars(select(Campaign.status)).one() == "draft"
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.target, entry.detail) == (
        "campaign.imported",
        "hamstring-sciatica",
        {"version": 1, "created": True, "enrollments_moved": 0},
    )


def test_a_bad_field_in_campaign_yaml_is_named_and_nothing_is_stored(
    db: Database, clock: ManualClock, settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    files = files_of(export_zip(seeded_definition))
    raw = yaml.safe_load(files["hamstring-sciatica/campaign.yaml"])
    raw["steps"][1]["channel"] = "fax"
    files["hamstring-sciatica/campaign.yaml"] = yaml.safe_dump(raw).encode()
    with pytest.raises(ImportRefused) as refused:
        import_bytes(db, clock, settings, zip_of(files))
    assert refused.value.problems == [
        "hamstring-sciatica/campaign.yaml: steps[1].channel: Input should be 'email' or 'sms'"
    ]
    assert version_count(db) == 0


def test_a_template_that_does_not_parse_is_named_by_file(
    db: Database, clock: ManualClock, settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    files = files_of(export_zip(seeded_definition))
    files["hamstring-sciatica/02-sms-hello.txt.j2"] = b"Hi {{ first_name "
    with pytest.raises(ImportRefused) as refused:
        import_bytes(db, clock, settings, zip_of(files))
    assert refused.value.problems[0].startswith("hamstring-sciatica/02-sms-hello.txt.j2 line 1")
    assert version_count(db) == 0


def test_a_missing_template_is_named_by_step_and_file(
    db: Database, clock: ManualClock, settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    files = files_of(export_zip(seeded_definition))
    del files["hamstring-sciatica/05-sms-tip-nudge.txt.j2"]
    with pytest.raises(ImportRefused) as refused:
        import_bytes(db, clock, settings, zip_of(files))
    assert refused.value.problems == [
        "hamstring-sciatica/campaign.yaml: steps[4].template: 05-sms-tip-nudge.txt.j2 not found"
    ]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../outside.txt", "'..' in a path is not allowed"),
        ("slug/../../outside.txt", "'..' in a path is not allowed"),
        ("/tmp/outside.txt", "absolute or Windows paths are not allowed"),
        ("C:/outside.txt", "absolute or Windows paths are not allowed"),
        ("slug\\..\\outside.txt", "absolute or Windows paths are not allowed"),
    ],
)
def test_members_that_would_land_outside_the_folder_are_refused(
    tmp_path: Path, name: str, why: str
) -> None:
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(CampaignFileError) as refused:
        unpack_campaign(zip_of({"slug/campaign.yaml": b"slug: x\n", name: b"x"}), into)
    assert refused.value.problems == [f"archive: {name}: {why}"]
    assert not (tmp_path / "outside.txt").exists() and list(into.iterdir()) == []


def test_a_symbolic_link_in_the_archive_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("slug/campaign.yaml")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(CampaignFileError, match="links are not allowed"):
        unpack_campaign(buffer.getvalue(), tmp_path)


def test_oversized_archives_are_refused_before_unpacking(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="archive: larger than 2 MB"):
        unpack_campaign(b"0" * (MAX_ARCHIVE_BYTES + 1), tmp_path)
    # A small zip that would unpack to far more than the limit (a zip bomb).
    bomb = zip_of({"slug/campaign.yaml": b"a" * (11 * 2**20)})
    with pytest.raises(CampaignFileError, match="archive: larger than 10 MB unpacked"):
        unpack_campaign(bomb, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_archive_without_a_campaign_or_with_two_says_so(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"holds no campaign\.yaml"):
        unpack_campaign(zip_of({"notes.txt": b"hello"}), tmp_path / "a")
    two = zip_of({"one/campaign.yaml": b"x", "two/campaign.yaml": b"y"})
    with pytest.raises(CampaignFileError, match="more than one campaign: one, two"):
        unpack_campaign(two, tmp_path / "b")


def test_a_campaign_yaml_at_the_top_of_the_zip_is_accepted(
    db: Database, clock: ManualClock, settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    files = {
        name.split("/", 1)[1]: content
        for name, content in files_of(export_zip(seeded_definition)).items()
    }
    import_bytes(db, clock, settings, zip_of(files))
    assert stored(db).checksum() == seeded_definition.checksum()


def test_a_changed_import_of_an_existing_campaign_is_a_new_version(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    definition = stored(db)
    steps = [definition.spec.steps[0].model_copy(update={"subject": "Hello"})]
    changed = CampaignDefinition(
        definition.spec.model_copy(update={"steps": steps + definition.spec.steps[1:]}),
        definition.templates,
    )
    result = import_bytes(db, clock, settings, export_zip(changed))
    assert (result.version, result.status) == (2, "active")
    assert stored(db).spec.steps[0].subject == "Hello"
    with db.factory.begin() as session:  # syncing the repo folder again is a third version
        assert sync_campaign(session, load_campaign_dir(SEEDED), clock.now()).version == 3


def test_leads_enrolled_before_an_import_continue_on_the_new_version_by_step_key(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    definition = stored(db)
    steps = [
        *definition.spec.steps[:1],
        definition.spec.steps[1].model_copy(update={"delay": "3h"}),
    ]
    changed = CampaignDefinition(
        definition.spec.model_copy(update={"steps": steps + definition.spec.steps[2:]}),
        definition.templates,
    )
    result = import_bytes(db, clock, settings, export_zip(changed))
    assert result.summary() == (
        "Imported hamstring-sciatica as version 2. 1 enrollment continues on it by step key."
    )
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        version = session.get_one(CampaignVersion, enrollment.campaign_version_id)
    assert (version.number, enrollment.next_step_key) == (2, "welcome-article")
