"""How the portal's e-mails leave: by SMTP (D365XERO_SMTP_HOST and friends), or, with no SMTP
host (demo and embedded mode), into the outbox page and a log line. The log line says a message
was queued and to whom, never its link: the link alone signs someone in or resets a password.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import structlog
from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from d365xero.config import Settings
from d365xero.store.outbox import Mail, queue_mail
from d365xero.store.secrets import SecretBox
from d365xero.trust import extra_cas, ssl_context

log = structlog.get_logger(__name__)
TIMEOUT = 20.0


@dataclass(frozen=True)
class Mailer:
    settings: Settings
    box: SecretBox

    @property
    def uses_outbox(self) -> bool:
        return not self.settings.smtp_host

    def send(self, session: Session, mail: Mail, later: BackgroundTasks) -> None:
        """Into the outbox (in the request's transaction), or to the SMTP server once the
        response is on its way: a slow mail server must not hold the store's transaction
        (SQLite's one writer) or the person's page."""
        if self.uses_outbox:
            queue_mail(session, self.box, mail)
            log.info("mail.queued", to=mail.to, subject=mail.subject, outbox="/outbox")
        else:
            later.add_task(self.deliver, mail)

    def deliver(self, mail: Mail) -> bool:
        """By SMTP; a refusal is logged (the person can ask again: Send it again, Forgotten
        password?)."""
        try:
            self._smtp(mail)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("mail.failed", to=mail.to, subject=mail.subject, error=type(exc).__name__)
            return False
        log.info("mail.sent", to=mail.to, subject=mail.subject)
        return True

    def _smtp(self, mail: Mail) -> None:
        settings = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            settings.smtp_from,
            mail.to,
            mail.subject,
        )
        message["Message-ID"] = make_msgid(domain="d365xero")
        message.set_content(mail.body)
        host, port = settings.smtp_host or "", settings.smtp_port
        context = ssl_context(extra_cas(settings))
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
            if port == 465
            else smtplib.SMTP(host, port, timeout=TIMEOUT)
        )
        with smtp:
            if port != 465 and settings.smtp_starttls:
                smtp.starttls(context=context)
            if settings.smtp_username:
                secret = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, secret)
            smtp.send_message(message)
