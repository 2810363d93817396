"""Constraint helpers shared by the addon's models."""

from odoo.exceptions import ValidationError


def check_parsed(records, field_name, parse, message):
    """Checks the value of ``field_name`` of each of ``records`` with
    ``parse``, a parser of lib/ that raises ValueError with its reason.

    ``message`` is the translated text of the ValidationError raised for the
    first value refused, with ``%(name)s`` (the record's name) and
    ``%(error)s`` (the parser's reason) placeholders.
    """
    for record in records:
        try:
            parse(record[field_name])
        except ValueError as exc:
            raise ValidationError(
                message % {"name": record.display_name, "error": exc}
            ) from exc
