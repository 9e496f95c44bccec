# NumberSequence now belongs to core (core 0001); its table stays where it is.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0004_document_date_index"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="NumberSequence")],
            database_operations=[],
        ),
    ]
