"""The engine's vocabulary and the models' stored values are the same words."""

import pytest

from accounts.models import Charge
from invoicing.models import BillingDocument
from invoicing.rating import terms


@pytest.mark.parametrize(
    "model_choices, engine_enum",
    [
        (Charge.ChargeType, terms.ChargeType),
        (Charge.ChargeModel, terms.ChargeModel),
        (Charge.BillingPeriod, terms.BillingPeriod),
        (Charge.BillingTiming, terms.BillingTiming),
        (BillingDocument.Kind, terms.DocumentKind),
    ],
)
def test_engine_terms_match_the_stored_values(model_choices, engine_enum):
    assert [choice.value for choice in model_choices] == [member.value for member in engine_enum]
