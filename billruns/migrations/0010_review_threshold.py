"""The variance review's threshold, per run (DESIGN §11; 25 % unless an operator changes it)."""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billruns', '0009_preview_roles_and_clean_up'),
    ]

    operations = [
        migrations.AddField(
            model_name='billrun',
            name='review_threshold_percent',
            field=models.DecimalField(decimal_places=2, default=Decimal('25'), help_text='Variance review: flag amounts that moved by more than this percentage.', max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('99999.99'))]),
        ),
        migrations.AddConstraint(
            model_name='billrun',
            constraint=models.CheckConstraint(condition=models.Q(('review_threshold_percent__gte', 0)), name='billrun_review_threshold_not_negative', violation_error_message='The review threshold cannot be negative.'),
        ),
    ]
