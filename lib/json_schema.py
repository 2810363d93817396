"""JSON Schema (Draft 2020-12) for incoming webhooks, compiled once and fast.

A validator's schema is compiled when first used in a worker and kept by
its text (a changed schema is a new entry), then checked against every
incoming body. The engine is ``jsonschema-rs`` (compiled Rust, an order of
magnitude faster on the bodies webhooks carry) when it is importable, else
the pure-Python ``jsonschema`` that Odoo deployments usually have. Both
give the same verdicts (the tests run both on the project's schemas and on
cases of the official JSON-Schema-Test-Suite); they differ only in the
formats they check: ``jsonschema`` without its optional packages checks
``date``, ``email``, ``idn-email``, ``idn-hostname``, ``ipv4``, ``ipv6``,
``regex`` and ``uuid``, ``jsonschema-rs`` those and the others of the
specification (``date-time``, ``uri``, ...).

Whatever the engine, the schema itself is checked with ``jsonschema``'s
metaschema (so that the error saying what is wrong is the same), references
must stay inside the schema (``#...``: validating never fetches anything),
and errors come out as ``{"path": <JSON pointer>, "message": ...}``.

Nothing here imports Odoo.
"""

import functools
import json
from dataclasses import dataclass

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .messages import Refusal, _lt

try:
    import jsonschema_rs
except ImportError:  # optional: the pure-Python engine does the same job
    jsonschema_rs = None

ENGINES = ("jsonschema-rs", "jsonschema")
MAX_ERROR_MESSAGE = 300  # characters; a message quotes the offending value


def default_engine():
    """The engine schemas are compiled with here."""
    return ENGINES[0] if jsonschema_rs is not None else ENGINES[1]


def json_pointer(path):
    """The JSON pointer (RFC 6901) of a path of keys and indexes; ``""`` is
    the whole document.

    >>> json_pointer(["lines", 0, "a/b"])
    '/lines/0/a~1b'
    """
    return "".join(
        "/" + str(part).replace("~", "~0").replace("/", "~1") for part in path
    )


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A schema ready to check bodies with, shared by a worker's threads."""

    engine: str
    validator: object

    def errors(self, payload, limit):
        """The first ``limit`` errors of ``payload``, each ``{"path": <JSON
        pointer>, "message": ...}``; empty when it matches.

        >>> schema = compile_schema('{"properties": {"n": {"maximum": 3}}}')
        >>> schema.errors({"n": 5}, 10)[0]["path"]
        '/n'
        >>> schema.errors({"n": 1}, 10)
        []
        """
        found = []
        if self.engine == "jsonschema-rs":
            issues = (
                (e.instance_path, e.message)
                for e in self.validator.iter_errors(payload)
            )
        else:
            issues = (
                (e.absolute_path, e.message)
                for e in self.validator.iter_errors(payload)
            )
        for path, message in issues:
            if len(message) > MAX_ERROR_MESSAGE:
                message = message[: MAX_ERROR_MESSAGE - 1] + "…"
            found.append({"path": json_pointer(path), "message": message})
            if len(found) >= limit:
                break
        return found


@functools.lru_cache(maxsize=256)
def compile_schema(text, engine=None):
    """The :class:`CompiledSchema` of the JSON Schema ``text``, with
    ``engine`` (one of :data:`ENGINES`; the default one when None).

    Raises ValueError saying what is wrong when ``text`` is not JSON, not a
    valid schema, or refers to another document.

    >>> try:
    ...     compile_schema('{"type": 5}')
    ... except ValueError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    the schema is not a valid JSON Schema (Draft 2020-12) at /type: ...
    """
    engine = engine or default_engine()
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise Refusal(
            _lt("the schema is not valid JSON: %(error)s"), error=str(exc)
        ) from exc
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = json_pointer(exc.absolute_path) or "the root"
        raise Refusal(
            _lt(
                "the schema is not a valid JSON Schema (Draft 2020-12) at "
                "%(where)s: %(error)s"
            ),
            where=where,
            error=exc.message,
        ) from exc
    for ref in _references(schema):
        if not ref.startswith("#"):
            raise Refusal(
                _lt(
                    "the schema refers to %(ref)s; only references inside the "
                    "schema (starting with #) are supported"
                ),
                ref=repr(ref),
            )
    if engine == "jsonschema-rs":
        if jsonschema_rs is None:
            raise Refusal(_lt("jsonschema-rs is not installed"))
        try:
            validator = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=True, offline=True
            )
        except jsonschema_rs.ValidationError as exc:
            raise Refusal(
                _lt("the schema cannot be compiled: %(error)s"), error=exc.message
            ) from exc
    else:
        validator = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
    return CompiledSchema(engine, validator)


def _references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)
