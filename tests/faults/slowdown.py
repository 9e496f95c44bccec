"""Slow work down in the fault tests' processes, never elsewhere (tests/faults/settings.py).

FAULT_CHUNK_DELAY: seconds a chunk sleeps inside its transaction, after its reads.
FAULT_BATCH_DELAY: seconds a posting's or cancel's batch sleeps inside its transaction.
"""

import os
import time

from django.apps import AppConfig


class SlowdownConfig(AppConfig):
    name = "tests.faults.slowdown"
    label = "fault_slowdown"

    def ready(self):
        from billruns import leases, rating

        chunk_delay = float(os.environ.get("FAULT_CHUNK_DELAY", "0"))
        batch_delay = float(os.environ.get("FAULT_BATCH_DELAY", "0"))
        if chunk_delay:
            read_usage = rating._read_usage

            def slow_read_usage(*args, **kwargs):
                time.sleep(chunk_delay)
                return read_usage(*args, **kwargs)

            rating._read_usage = slow_read_usage
        if batch_delay:
            renew = leases.RunLease.renew

            def slow_renew(self, *args, **kwargs):
                time.sleep(batch_delay)
                return renew(self, *args, **kwargs)

            leases.RunLease.renew = slow_renew
