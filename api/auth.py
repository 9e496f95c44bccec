"""`Authorization: Bearer <token>`: the token's user makes the request (DESIGN §10)."""

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions

from api.models import ApiToken, hash_key

# last_used_at is written at most this often per token, by a conditional UPDATE.
TOUCH_EVERY = dt.timedelta(minutes=1)
BAD_TOKEN = "The token is unknown or revoked."


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>', with no spaces in it."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(BAD_TOKEN) from None
        token = (
            ApiToken.objects.active().select_related("user").filter(key_hash=hash_key(key)).first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).exclude(
                last_used_at__gte=now - TOUCH_EVERY
            ).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
