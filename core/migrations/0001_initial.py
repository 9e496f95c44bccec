# NumberSequence moved here from invoicing without moving its table (invoicing 0005 drops it
# from invoicing's state). The table and its rows were made by invoicing 0001 and 0002, so this
# migration only tells Django's state where the model now lives.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("invoicing", "0004_document_date_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="NumberSequence",
                    fields=[
                        ("prefix", models.CharField(max_length=10, primary_key=True, serialize=False)),
                        ("last_value", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "invoicing_numbersequence",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("last_value__gte", 0)),
                                name="sequence_not_negative",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
