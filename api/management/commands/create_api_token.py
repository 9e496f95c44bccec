"""`manage.py create_api_token USERNAME [--name NAME]`: prints a new token once (DESIGN §10)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import services
from core.errors import DomainError


class Command(BaseCommand):
    help = "Make an API token for a user and print it; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username.replace("\x00", "")).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            token, key = services.api_token_create(user=user, name=name)
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"Token “{token.name}” for {user.get_username()}; it is shown once:")
        self.stdout.write(key)
