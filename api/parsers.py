"""The JSON parser, refusing what Python's json cannot even represent."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's, with JSON nested deeper than Python's recursion limit (`[` × 100,000) a 400
    like any other malformed body, not a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
