"""Writes of the API app: tokens made and revoked (the page, the admin and the command)."""

import datetime as dt

from django.utils import timezone

from api.models import ApiToken, hash_key
from core.errors import DomainError

NAME_LENGTH = ApiToken._meta.get_field("name").max_length


class TokenError(DomainError):
    """A token that cannot be made or revoked: one sentence."""


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token of `user` and its key, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Name the token, so you can tell it apart later.")
    if len(name) > NAME_LENGTH or "\x00" in name:
        raise TokenError(f"A token's name is at most {NAME_LENGTH} printable characters.")
    if not user.is_active:
        raise TokenError(f"User {user.get_username()} is inactive and cannot have tokens.")
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:10], key_hash=hash_key(key))
    return token, key


def api_token_revoke(*, token: ApiToken, now: dt.datetime | None = None) -> ApiToken:
    """Revoked from now on; revoking twice keeps the first time."""
    now = now or timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token
