"""Settings for the processes the fault tests start: the project's own, plus an app that can
slow a chunk or a batch down (from the environment) so a kill lands in the middle of one."""

from billing_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.faults.slowdown.SlowdownConfig"]  # noqa: F405
