"""What every app shares and no app owns: the number sequences."""

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
