from django.db import models


class TimeStampedModel(models.Model):
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SentMail(models.Model):
    """A copy of an e-mail sent in development (apps.core.devmail), for the development mailbox
    page. Nothing writes here unless that backend is the configured one."""

    subject = models.CharField(max_length=998)
    from_email = models.CharField(max_length=254)
    to = models.TextField(help_text="Recipients (To, Cc and Bcc), one per line.")
    body = models.TextField(help_text="The plain-text part.")
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def recipients(self) -> list[str]:
        return self.to.splitlines()
