"""`nurture campaigns validate`: every problem named by file and field, exit 1 on errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, failed_cleanly, succeeded


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}: update the test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_seeded_campaign_validates_with_its_sms_costs_shown(nurture: Invoke) -> None:
    output = succeeded(nurture("campaigns", "validate"))
    assert "0 error(s), 0 warning(s)" in output
    for key in ("sms-hello", "sms-tip-nudge", "sms-screening-invite"):
        line = next(line for line in output.splitlines() if f" {key} " in line)
        assert "GSM-7" in line
        assert "of 2" in line  # segments against the campaign's limit


def _bad_delay(folder: Path) -> None:
    _replace(folder / "campaign.yaml", "delay: 4d", "delay: 4days")


def _unknown_variable(folder: Path) -> None:
    _replace(folder / "03-why-stretching-alone.md.j2", "\n", "\nDear {{ lastname }},\n")


def _syntax_error(folder: Path) -> None:
    _replace(folder / "01-welcome-article.md.j2", "\n", " {% if first_name %}\n")


def _sms_too_long(folder: Path) -> None:
    _replace(
        folder / "09-sms-screening-invite.txt.j2",
        "Reply STOP to opt out.",
        "We look forward to seeing you at the clinic and helping you move freely again, "
        "without that pulling feeling behind the knee. Reply STOP to opt out.",
    )


def _curly_quote(folder: Path) -> None:
    _replace(folder / "02-sms-hello.txt.j2", "our guide", "our \u2018guide\u2019")


@pytest.mark.parametrize(
    ("breakage", "where", "what"),
    [
        (_bad_delay, "campaign.yaml: steps[3].delay", "'4days' is not a delay"),
        (_unknown_variable, "03-why-stretching-alone.md.j2", "unknown variable 'lastname'"),
        (_syntax_error, "01-welcome-article.md.j2 line", "Unexpected end of template"),
        (_sms_too_long, "09-sms-screening-invite.txt.j2", "3 GSM-7 segments"),
        (_curly_quote, "02-sms-hello.txt.j2", "UCS-2 segments"),
    ],
    ids=["bad-delay", "unknown-variable", "syntax-error", "sms-too-long", "curly-quote"],
)
def test_broken_campaign_names_file_and_field_and_exits_1(
    nurture: Invoke, campaign_copy: Path, breakage: object, where: str, what: str
) -> None:
    breakage(campaign_copy)  # type: ignore[operator]
    output = failed_cleanly(nurture("campaigns", "validate", str(campaign_copy)))
    error = next(line for line in output.splitlines() if line.strip().startswith("error:"))
    assert f"{campaign_copy}/{where}" in error
    assert what in error
    assert "1 error(s)" in output


def test_curly_quote_warning_names_the_characters_that_force_ucs2(
    nurture: Invoke, campaign_copy: Path
) -> None:
    _curly_quote(campaign_copy)
    output = failed_cleanly(nurture("campaigns", "validate", str(campaign_copy)))
    warning = next(line for line in output.splitlines() if line.strip().startswith("warning:"))
    assert "02-sms-hello.txt.j2" in warning
    assert "\u2018" in warning and "\u2019" in warning
    hello = next(line for line in output.splitlines() if " sms-hello " in line)
    assert "UCS-2" in hello


def test_missing_folder_is_an_error_not_a_crash(nurture: Invoke, tmp_path: Path) -> None:
    output = failed_cleanly(nurture("campaigns", "validate", str(tmp_path / "nowhere")))
    assert "campaign.yaml: file not found" in output
