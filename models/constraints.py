"""Constraint helpers shared by the addon's models."""

from odoo.exceptions import ValidationError

from ..lib.messages import Refusal


def check_parsed(records, field_name, parse, message):
    """Checks the value of ``field_name`` of each of ``records`` with
    ``parse``, a parser of lib/ that raises ValueError with its reason.

    ``message`` is the translated text of the ValidationError raised for the
    first value refused, with ``%(name)s`` (the record's name) and
    ``%(error)s`` (the parser's reason, translated) placeholders.
    """
    for record in records:
        try:
            parse(record[field_name])
        except ValueError as exc:
            raise ValidationError(
                message
                % {"name": record.display_name, "error": translated(records.env, exc)}
            ) from exc


def translated(env, error):
    """The reason of a lib/ parser's ValueError in the language of ``env``:
    a :class:`lib.messages.Refusal` is translated from its template, any
    other error is given as it is."""
    if isinstance(error, Refusal):
        return env._(error.template, **error.values)  # pylint: disable=translation-not-lazy
    return str(error)
