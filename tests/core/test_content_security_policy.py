"""The Content-Security-Policy: every page is served with it, no template needs an exception to
it, and `check --deploy` says so when it is weakened. (tests/browser/test_content_security_policy.py
opens every page in Chromium under it.)"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from core.checks import content_security_policy

# Mail and PDFs are not pages: no browser applies the policy to them.
NOT_PAGES = ("email/", "document_pdf.html")
INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "an event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "a style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


def page_templates():
    root = Path(settings.BASE_DIR) / "templates"
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        if not any(part in name for part in NOT_PAGES):
            yield name, path.read_text()


def test_no_page_template_needs_inline_script_or_style():
    offenders = [
        f"{name}: {what}"
        for name, text in page_templates()
        for what, pattern in INLINE.items()
        if pattern.search(text)
    ]
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", [reverse("login"), reverse("api:docs")])
def test_pages_are_served_with_the_policy(client, url):
    policy = client.get(url)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_logged_in_pages_and_htmx_fragments_carry_it_too(logged_in):
    for url in (reverse("home"), reverse("billruns:list"), reverse("accounts:autocomplete")):
        assert "script-src 'self'" in logged_in.get(url)["Content-Security-Policy"], url


def test_the_deploy_check_passes_with_the_project_s_policy():
    assert content_security_policy(None) == []


def test_the_deploy_check_warns_without_the_header():
    middleware = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert [w.id for w in content_security_policy(None)] == ["core.W001"]


@pytest.mark.parametrize(
    "scripts", [["'self'", "'unsafe-inline'"], ["'self'", "'unsafe-eval'"], ["*"], None]
)
def test_the_deploy_check_warns_when_scripts_may_run_inline_or_from_anywhere(scripts):
    directives = {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}
    directives.pop("default-src")
    directives.pop("script-src")
    if scripts:
        directives["script-src"] = scripts
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": directives}):
        assert [w.id for w in content_security_policy(None)] == ["core.W002"]
