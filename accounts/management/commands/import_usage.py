from accounts import imports
from accounts.management.commands._import import PROGRESS_EVERY, ImportCommand
from core.progress import Progress


class Command(ImportCommand):
    help = (
        "Import usage records (account_number, charge_number, quantity, usage_date) as Pending. "
        "One bad row imports nothing, unless --write-valid. A file whose rows were imported "
        "before is refused, unless --again."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--again",
            action="store_true",
            help="Import the rows even if the same rows were imported before (they bill again).",
        )

    def run(self, stream, *, file_name, write_valid, options):
        progress = Progress(self.stdout, label="rows read", every=PROGRESS_EVERY)
        try:
            return imports.import_usage(
                stream,
                file_name=file_name,
                write_valid=write_valid,
                on_progress=progress.update,
                again=options["again"],
            )
        except imports.RepeatedFileError as error:
            raise imports.RepeatedFileError(
                f"{error} Give --again if it is new usage.", previous=error.previous
            ) from None
        finally:
            progress.end()
