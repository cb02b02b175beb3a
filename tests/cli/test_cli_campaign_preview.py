"""`nurture campaigns preview`: one step rendered for a sample lead."""

from __future__ import annotations

from nurture.config import Settings
from tests.cli.conftest import Invoke, failed_cleanly, succeeded


def test_email_preview_shows_subject_and_text_and_writes_the_html(
    nurture: Invoke, settings: Settings
) -> None:
    output = succeeded(
        nurture(
            "campaigns", "preview", "hamstring-sciatica", "welcome-article", "--first-name", "Dana"
        )
    )
    assert "Subject: Dana, here is your guide to tight hamstrings" in output
    assert "Hi Dana," in output
    html = settings.data_dir / "preview" / "hamstring-sciatica--welcome-article.html"
    assert str(html) in output.replace("\n", "")
    assert "Hi Dana," in html.read_text()
    assert "<a href=" in html.read_text()


def test_sms_preview_shows_the_text_and_its_segment_count(nurture: Invoke) -> None:
    output = succeeded(nurture("campaigns", "preview", "hamstring-sciatica", "sms-hello"))
    assert "Hi Jordan, thanks for getting our guide" in output
    assert "GSM-7" in output
    assert "segment(s) (the campaign allows 2)" in output


def test_preview_of_an_unknown_step_lists_the_real_ones(nurture: Invoke) -> None:
    output = failed_cleanly(nurture("campaigns", "preview", "hamstring-sciatica", "sms-bye"))
    assert "no step 'sms-bye'" in output
    assert "sms-screening-invite" in output
