from accounts import imports
from accounts.management.commands._import import ImportCommand


class Command(ImportCommand):
    help = (
        "Create accounts with their subscriptions and charges, one CSV row per charge. "
        "One bad row imports nothing, unless --write-valid (which skips each bad row's account)."
    )

    def run(self, stream, *, file_name, write_valid, options):
        return imports.import_accounts(stream, file_name=file_name, write_valid=write_valid)
