"""What every app shares and no app owns: the number sequences, the actor of a history row."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.numbering import format_number


class NumberSequence(models.Model):
    """The last value handed out for one number prefix (see core.numbering)."""

    prefix = models.CharField(max_length=10, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        # Created by invoicing's first migration; moved here without moving the table.
        db_table = "invoicing_numbersequence"
        constraints = [
            models.CheckConstraint(condition=Q(last_value__gte=0), name="sequence_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}: last {format_number(self.prefix, self.last_value)}"


def actor_field(*, help_text: str = "Empty for the system.") -> models.ForeignKey:
    """Who did what a history row records: a user, or null for the system (kept as null when
    the user is deleted, so the row stays)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=help_text,
    )
