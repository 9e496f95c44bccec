from django.db import migrations

# One row per number prefix, so the first writer of each kind increments instead of racing
# to create the row.
PREFIXES = ["A", "S", "C", "BR-", "INV", "CM"]


def create_sequences(apps, schema_editor):
    NumberSequence = apps.get_model("invoicing", "NumberSequence")
    for prefix in PREFIXES:
        NumberSequence.objects.using(schema_editor.connection.alias).get_or_create(prefix=prefix)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(create_sequences, migrations.RunPython.noop)]
