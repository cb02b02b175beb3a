"""The console channels: what a developer finds in the outbox and the SMS log."""

from __future__ import annotations

import json
import threading
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from nurture.messages.channels.base import OutboundEmail, OutboundSms, PermanentError
from nurture.messages.channels.console import ConsoleEmailChannel, ConsoleSmsChannel

SUBJECT = "Ischias? Warum es hinter dem Knie zieht – und was hilft ✓"


def outbound_email(**changes: object) -> OutboundEmail:
    values: dict[str, object] = {
        "message_ref": "msg-0001",
        "to": "pat.doe@example.com",
        "from_email": "care@riverside-pt.example",
        "from_name": "Riverside Physiothérapie",
        "subject": SUBJECT,
        "text": "Hallo Pat,\nder Ischiasnerv beginnt im unteren Rücken.\n",
        "html": "<p>Hallo Pat,</p><p>der Ischiasnerv beginnt im unteren Rücken.</p>",
        "reply_to": "replies@riverside-pt.example",
        "headers": {
            "List-Unsubscribe": "<https://care.example.test/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    values.update(changes)
    return OutboundEmail(**values)  # type: ignore[arg-type]


def read_eml(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def test_email_lands_in_outbox_as_eml_with_text_then_html(tmp_path: Path) -> None:
    channel = ConsoleEmailChannel(tmp_path / "outbox")

    result = channel.send(outbound_email())

    assert result.provider_id == "console-msg-0001"
    message = read_eml(tmp_path / "outbox" / "msg-0001.eml")
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert "Ischiasnerv beginnt im unteren Rücken" in parts[0].get_content()
    assert "<p>Hallo Pat,</p>" in parts[1].get_content()


def test_eml_headers_survive_a_round_trip_including_non_ascii(tmp_path: Path) -> None:
    ConsoleEmailChannel(tmp_path).send(outbound_email())

    message = read_eml(tmp_path / "msg-0001.eml")
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "Riverside Physiothérapie"
    assert message["From"].addresses[0].addr_spec == "care@riverside-pt.example"
    assert message["To"] == "pat.doe@example.com"
    assert message["Reply-To"] == "replies@riverside-pt.example"
    assert message["List-Unsubscribe"] == "<https://care.example.test/u/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-Nurture-Message"] == "msg-0001"
    assert message["Message-ID"].endswith("@riverside-pt.example>")
    assert message["Date"].datetime is not None


def test_email_without_reply_to_or_html_is_plain_text(tmp_path: Path) -> None:
    ConsoleEmailChannel(tmp_path).send(outbound_email(reply_to=None, html="", headers={}))

    message = read_eml(tmp_path / "msg-0001.eml")
    assert message.get_content_type() == "text/plain"
    assert message["Reply-To"] is None


def test_sending_again_replaces_the_file_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    channel = ConsoleEmailChannel(tmp_path)
    channel.send(outbound_email(subject="first"))
    channel.send(outbound_email(subject="second"))

    assert [path.name for path in tmp_path.iterdir()] == ["msg-0001.eml"]
    assert read_eml(tmp_path / "msg-0001.eml")["Subject"] == "second"


@pytest.mark.parametrize("ref", ["../escape", "a/b", ".hidden", ""])
def test_message_ref_that_is_not_a_safe_file_name_is_refused(tmp_path: Path, ref: str) -> None:
    with pytest.raises(PermanentError):
        ConsoleEmailChannel(tmp_path / "outbox").send(outbound_email(message_ref=ref))
    assert not (tmp_path / "escape").exists()


def test_header_injection_through_extra_headers_is_refused(tmp_path: Path) -> None:
    bad = outbound_email(headers={"X-Note": "fine\r\nBcc: victim@example.com"})
    with pytest.raises(ValueError):
        ConsoleEmailChannel(tmp_path).send(bad)


def test_sms_log_gets_one_json_line_per_message(tmp_path: Path) -> None:
    log_path = tmp_path / "var" / "sms.log"
    channel = ConsoleSmsChannel(log_path)

    first = channel.send(OutboundSms("msg-1", "+12175550199", "Hi Pat – reply BOOK 📅"))
    channel.send(OutboundSms("msg-2", "+12175550123", "Second"))

    assert first.provider_id == "console-msg-1"
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert lines == [
        {"ref": "msg-1", "to": "+12175550199", "body": "Hi Pat – reply BOOK 📅"},
        {"ref": "msg-2", "to": "+12175550123", "body": "Second"},
    ]


def test_concurrent_sms_appends_never_interleave(tmp_path: Path) -> None:
    log_path = tmp_path / "sms.log"
    channel = ConsoleSmsChannel(log_path)
    body = "x" * 20_000  # far past any I/O buffer, so a split write would show

    def send_many(worker: int) -> None:
        for n in range(25):
            channel.send(OutboundSms(f"w{worker}-{n}", "+12175550199", body))

    threads = [threading.Thread(target=send_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refs = [json.loads(line)["ref"] for line in log_path.read_text().splitlines()]
    assert sorted(refs) == sorted(f"w{w}-{n}" for w in range(8) for n in range(25))
