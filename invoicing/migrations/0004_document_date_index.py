from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0003_line_charge_type_choices"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="billingdocument",
            index=models.Index(fields=["document_date", "id"], name="doc_date_idx"),
        ),
    ]
