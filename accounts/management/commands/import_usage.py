from accounts import imports
from accounts.management.commands._import import PROGRESS_EVERY, ImportCommand
from core.progress import Progress


class Command(ImportCommand):
    help = (
        "Import usage records (account_number, charge_number, quantity, usage_date) as Pending. "
        "One bad row imports nothing, unless --write-valid."
    )

    def run(self, stream, *, file_name, write_valid):
        progress = Progress(self.stdout, label="rows read", every=PROGRESS_EVERY)
        try:
            return imports.import_usage(
                stream, file_name=file_name, write_valid=write_valid, on_progress=progress.update
            )
        finally:
            progress.end()
