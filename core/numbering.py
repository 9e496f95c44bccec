"""Human-facing numbers (A00000001, S…, C…, BR-00000001, INV…, CM…) from gapless sequences.

Each prefix has one NumberSequence row. A caller reserves a block of values by incrementing the
row *first* (an UPDATE takes the row lock on PostgreSQL and the write lock on SQLite) and then
reading it back inside the same transaction. Because the increment belongs to the caller's
transaction, a rollback or a crash gives the values back: numbers never have holes and are never
handed out twice. The price is that a writer holds the sequence row until it commits, so callers
reserve whole blocks at once (one statement per chunk, never one per row).
"""

from collections.abc import Iterable
from typing import ClassVar

from django.db import IntegrityError, models, router, transaction
from django.db.models import F

NUMBER_WIDTH = 8


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:0{NUMBER_WIDTH}d}"


def reserve(prefix: str, count: int, *, using: str | None = None) -> range:
    """Reserve `count` consecutive sequence values for `prefix` and return them.

    Gapless only when called inside the transaction that also writes the numbered rows.
    """
    from core.models import NumberSequence

    if count < 1:
        return range(0)
    using = using or router.db_for_write(NumberSequence)
    with transaction.atomic(using=using):
        _add(prefix, count, using=using)
        rows = NumberSequence.objects.using(using).filter(prefix=prefix)
        last = rows.values_list("last_value", flat=True).get()
    return range(last - count + 1, last + 1)


def lock(prefix: str, *, using: str | None = None) -> None:
    """Hold `prefix`'s sequence row, taking no number, until the caller's transaction ends:
    whoever numbers rows of that prefix meanwhile (another import) waits until then."""
    from core.models import NumberSequence

    _add(prefix, 0, using=using or router.db_for_write(NumberSequence))


def _add(prefix: str, count: int, *, using: str) -> None:
    """Add `count` to the prefix's sequence row (created at `count` on first use), which holds
    the row until the transaction ends."""
    from core.models import NumberSequence

    rows = NumberSequence.objects.using(using)
    if not rows.filter(prefix=prefix).update(last_value=F("last_value") + count):
        try:
            with transaction.atomic(using=using):
                rows.create(prefix=prefix, last_value=count)
        except IntegrityError:
            # A concurrent first use created the row; it is ours to add to now.
            rows.filter(prefix=prefix).update(last_value=F("last_value") + count)


def next_numbers(prefix: str, count: int, *, using: str | None = None) -> list[str]:
    return [format_number(prefix, value) for value in reserve(prefix, count, using=using)]


class NumberedModel(models.Model):
    """A model whose `number` is assigned from its prefix's sequence when left blank."""

    NUMBER_PREFIX: ClassVar[str]

    number = models.CharField(
        max_length=20,
        unique=True,
        blank=True,
        help_text="Assigned automatically when left blank.",
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.number:
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # The number and the row are written together, so a failed insert returns the number.
        with transaction.atomic(using=using):
            (self.number,) = next_numbers(self.NUMBER_PREFIX, 1, using=using)
            return super().save(*args, **kwargs)

    @classmethod
    def assign_numbers(cls, objs: Iterable["NumberedModel"], *, using: str | None = None) -> None:
        """Number every unnumbered object with one sequence statement (for bulk_create).

        Call it inside the transaction that bulk-creates the objects.
        """
        unnumbered = [obj for obj in objs if not obj.number]
        numbers = next_numbers(cls.NUMBER_PREFIX, len(unnumbered), using=using)
        for obj, number in zip(unnumbered, numbers, strict=True):
            obj.number = number
