"""The variance review's prepared facts: one ReviewEntry per document of a reviewed run, and
where each run's preparation stands (docs/decisions.md, "Variance review (issue 16)")."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_usage_unique_key'),
        ('billruns', '0010_review_threshold'),
        ('invoicing', '0007_fewer_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReviewPreparation',
            fields=[
                ('bill_run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='review_preparation', serialize=False, to='billruns.billrun')),
                ('status', models.CharField(choices=[('Preparing', 'Preparing'), ('Ready', 'Ready')], default='Preparing', max_length=10)),
                ('attempt', models.PositiveIntegerField(default=1)),
                ('events_through', models.BigIntegerField(default=0)),
                ('chunks_total', models.PositiveIntegerField(default=0)),
                ('chunks_done', models.PositiveIntegerField(default=0)),
                ('line_counts', models.JSONField(blank=True, default=list)),
                ('documents_by_currency', models.JSONField(blank=True, default=dict)),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('prepared_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='ReviewEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('amount', models.DecimalField(decimal_places=3, max_digits=18)),
                ('previous_amount', models.DecimalField(decimal_places=3, max_digits=18, null=True)),
                ('change_percent', models.DecimalField(decimal_places=3, max_digits=24, null=True)),
                ('line_count', models.PositiveIntegerField()),
                ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.account')),
                ('bill_run', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='billruns.billrun')),
                ('document', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='invoicing.billingdocument')),
                ('previous', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='invoicing.billingdocument')),
            ],
            options={
                'verbose_name_plural': 'review entries',
                'indexes': [models.Index(fields=['bill_run', 'change_percent'], name='review_change_idx'), models.Index(fields=['bill_run', 'previous_amount'], name='review_previous_idx'), models.Index(fields=['bill_run', 'line_count'], name='review_lines_idx')],
            },
        ),
    ]
