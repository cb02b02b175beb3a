"""Development channels: each email becomes an .eml file, each text a JSON line in a log.

They are the embedded default, so they are real, tested channels: what lands in the
outbox is the RFC 5322 message a provider would have been handed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from nurture.messages.channels.base import (
    OutboundEmail,
    OutboundSms,
    PermanentError,
    ProviderResult,
)

# The ref becomes a file name: refuse anything that could leave the outbox directory.
_SAFE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def build_message(email: OutboundEmail) -> EmailMessage:
    """The RFC 5322 message for `email`: multipart/alternative, text then HTML."""
    message = EmailMessage()
    message["From"] = Address(display_name=email.from_name, addr_spec=email.from_email)
    message["To"] = email.to
    message["Subject"] = email.subject
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    # An explicit domain: the default asks DNS for this host's name on every message.
    domain = email.from_email.rpartition("@")[2] or "nurture.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Nurture-Message"] = email.message_ref
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = (p.strip() for p in rest.split(";"))
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(p.split("=", 1) for p in params if "=" in p),
        )
    return message


class ConsoleEmailChannel:
    """Writes each email to `<outbox_dir>/<message_ref>.eml` instead of sending it."""

    name = "console"

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def send(self, email: OutboundEmail) -> ProviderResult:
        """Write the email atomically; a reader never sees half a file."""
        if not _SAFE_REF.fullmatch(email.message_ref):
            raise PermanentError("invalid-ref", "message ref is not a safe file name")
        data = build_message(email).as_bytes()
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        target = self.outbox_dir / f"{email.message_ref}.eml"
        fd, temp_name = tempfile.mkstemp(
            dir=self.outbox_dir, prefix=f".{email.message_ref}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return ProviderResult(provider_id=f"console-{email.message_ref}")


class ConsoleSmsChannel:
    """Appends each text message to a JSON-lines log instead of sending it."""

    name = "console"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path

    def send(self, sms: OutboundSms) -> ProviderResult:
        """Append one JSON line for the message."""
        line = json.dumps({"ref": sms.message_ref, "to": sms.to, "body": sms.body})
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered append: one write() is one O_APPEND system call, so lines from
        # concurrent workers never interleave and no lock is needed.
        with self.log_path.open("ab", buffering=0) as log:
            log.write(f"{line}\n".encode())
        return ProviderResult(provider_id=f"console-{sms.message_ref}")
