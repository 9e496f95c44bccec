"""Settings come from the environment with safe defaults (checked in fresh interpreters)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "x7#kq!2mZ-this-is-a-long-random-production-secret-key-value-0193"

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
    "q": settings.Q_CLUSTER, "debug": settings.DEBUG, "tz": settings.TIME_ZONE,
    "use_tz": settings.USE_TZ, "hosts": settings.ALLOWED_HOSTS,
    "login_required": "django.contrib.auth.middleware.LoginRequiredMiddleware"
        in settings.MIDDLEWARE,
}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "billing_project.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(**env: str) -> dict:
    result = run_python(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_sqlite_in_wal_mode_with_the_orm_broker():
    conf = settings_with()
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in conf["options"]["init_command"]
    assert conf["q"]["orm"] == "default" and "redis" not in conf["q"]
    assert conf["q"]["retry"] > conf["q"]["timeout"]
    assert conf["debug"] is True and conf["use_tz"] is True and conf["tz"] == "UTC"
    assert conf["login_required"] is True


def test_database_url_and_redis_url_switch_to_postgresql_and_redis():
    conf = settings_with(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/billcycle",
        REDIS_URL="redis://127.0.0.1:6379/0",
        TIME_ZONE="Europe/Paris",
    )
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["name"] == "billcycle"
    assert conf["q"]["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in conf["q"]
    assert conf["tz"] == "Europe/Paris"


def test_production_refuses_to_start_without_a_secret_key():
    result = run_python(PROBE, DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0." in result.stderr


@pytest.mark.parametrize("debug", ["0", "false", "no"])
def test_the_deploy_check_is_clean_in_production(debug):
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        DJANGO_DEBUG=debug,
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="billing.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


SERVING_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "middleware": settings.MIDDLEWARE,
    "static_storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "ssl_redirect": settings.SECURE_SSL_REDIRECT, "hsts": settings.SECURE_HSTS_SECONDS,
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
}))
"""


def serving_with(**env: str) -> dict:
    result = run_python(SERVING_PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_connections_are_closed_after_each_request_unless_asked_to_stay():
    # runserver's thread per request would otherwise keep a connection per thread.
    postgres = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/billcycle"}
    assert serving_with(**postgres)["conn_max_age"] == 0
    assert serving_with(**postgres, DATABASE_CONN_MAX_AGE="600")["conn_max_age"] == 600


def test_production_serves_collected_static_files_with_whitenoise():
    conf = serving_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=SECRET)
    security = conf["middleware"].index("django.middleware.security.SecurityMiddleware")
    assert conf["middleware"][security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"
    assert conf["static_storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert conf["ssl_redirect"] is True and conf["hsts"] > 0
    assert conf["secure_cookies"] == [True, True]
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in serving_with()["middleware"]


def test_plain_http_production_neither_redirects_nor_marks_cookies_secure():
    conf = serving_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=SECRET, DJANGO_HTTPS="0")
    assert conf["ssl_redirect"] is False and conf["hsts"] == 0
    assert conf["secure_cookies"] == [False, False]
