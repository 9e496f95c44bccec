"""Deploy checks of our own: `manage.py check --deploy` also vouches for the
Content-Security-Policy (docs/decisions.md)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

UNSAFE_SCRIPT_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"}


@register(Tags.security, deploy=True)
def content_security_policy(app_configs, **kwargs):
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        return [
            Warning(
                "Pages are served without a Content-Security-Policy header.",
                hint="Keep csp.middleware.CSPMiddleware in MIDDLEWARE.",
                id="core.W001",
            )
        ]
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    scripts = set(directives.get("script-src") or directives.get("default-src") or ["*"])
    if scripts & UNSAFE_SCRIPT_SOURCES:
        return [
            Warning(
                "The Content-Security-Policy lets pages run inline or foreign scripts: "
                f"script-src {' '.join(sorted(scripts))}.",
                hint="Serve every script from static files; relax one view with csp_update.",
                id="core.W002",
            )
        ]
    return []
