"""GOV.UK Notify, through its official client: one e-mail template whose subject is
`((subject))` and body `((body))` (WSOA_NOTIFY_TEMPLATE_ID). Notify sends no attachment this
way: a board pack goes as a link."""

from __future__ import annotations

from datetime import datetime

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from bot.mail import Mail, MailFailed

TIMEOUT_SECONDS = 20
DEFAULT_URL = "https://api.notifications.service.gov.uk"


class NotifyTransport:
    name = "GOV.UK Notify"
    attaches_files = False

    def __init__(self, api_key: str, template_id: str, base_url: str = DEFAULT_URL) -> None:
        if not template_id:
            raise ValueError("WSOA_NOTIFY_TEMPLATE_ID is needed with WSOA_NOTIFY_API_KEY")
        self.client = NotificationsAPIClient(
            api_key, base_url=base_url or DEFAULT_URL, timeout=TIMEOUT_SECONDS
        )
        self.template_id = template_id

    def send(self, mail: Mail, at: datetime) -> None:
        try:
            self.client.send_email_notification(
                email_address=mail.to,
                template_id=self.template_id,
                personalisation={"subject": mail.subject, "body": mail.text},
                reference=mail.reference,
                one_click_unsubscribe_url=mail.unsubscribe_url,
            )
        except APIError as error:
            status = error.status_code
            # 429 (rate limit) and 5xx (including no answer at all, which the client reports
            # as 503) are worth another try; any other 4xx (an invalid address, a bad key) is not
            temporary = status == 429 or status >= 500
            raise MailFailed(
                f"Notify answered {status}: {error.message}", temporary=temporary
            ) from error
