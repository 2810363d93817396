"""lib.json_schema: both engines (jsonschema-rs and jsonschema) give the same
verdicts, the suite's, on the official JSON-Schema-Test-Suite cases they
both support and on the schemas of the project's own tests; errors are JSON
pointers and messages whatever the engine."""

import doctest
import json
from pathlib import Path

import pytest

from odoo.addons.integration_gateway.lib import json_schema
from odoo.addons.integration_gateway.lib import webhook_validation as wv

SUITE = Path(__file__).parent / "data" / "json-schema-test-suite" / "draft2020-12"
ENGINES = json_schema.ENGINES


def suite_cases():
    for path in sorted(SUITE.glob("*.json")):
        for group in json.loads(path.read_text()):
            yield pytest.param(group, id=f"{path.stem}: {group['description']}")


def compiled(schema):
    """The schema compiled by each engine, or None when the project does
    not support it: a reference to another document, or a regular
    expression Python's ``re`` does not know (``\\p{Letter}``), which the
    metaschema check refuses when the schema is saved."""
    text = json.dumps(schema)
    try:
        return {engine: json_schema.compile_schema(text, engine) for engine in ENGINES}
    except ValueError as exc:
        assert "refers to" in str(exc) or "is not a 'regex'" in str(exc), exc
        return None


def test_jsonschema_rs_is_the_engine_here():
    # The test command installs it; without it the addon works, slower.
    assert json_schema.default_engine() == "jsonschema-rs"


def test_doctests():
    result = doctest.testmod(json_schema, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("group", suite_cases())
def test_both_engines_give_the_suites_verdict(group):
    schemas = compiled(group["schema"])
    if schemas is None:
        return
    for case in group["tests"]:
        verdicts = {
            engine: not schema.errors(case["data"], 1)
            for engine, schema in schemas.items()
        }
        assert verdicts == dict.fromkeys(ENGINES, case["valid"]), case["description"]


def test_most_suite_cases_are_supported():
    groups = [p.values[0] for p in suite_cases()]
    supported = [g for g in groups if compiled(g["schema"]) is not None]
    # 253 of the 272 groups of the vendored files, 897 cases.
    assert len(groups) == 272
    assert len(supported) >= 250


ORDER = json.dumps(
    {
        "type": "object",
        "required": ["id", "lines"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "email": {"type": "string", "format": "email"},
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["sku", "qty"],
                    "properties": {
                        "sku": {"type": "string"},
                        "qty": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    }
)


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        ({"id": "42", "lines": [{"sku": "A", "qty": 1}]}, []),
        ({"id": "x42", "lines": [{"sku": "A", "qty": 1}]}, ["/id"]),
        (
            {"id": "42", "email": "not an address", "lines": [{"sku": "A", "qty": 1}]},
            ["/email"],
        ),
        (
            {"id": "42", "lines": [{"sku": "A", "qty": 0}, {"qty": 2}]},
            ["/lines/0/qty", "/lines/1"],
        ),
        ({"lines": []}, ["", "/lines"]),
        ([], [""]),
    ],
)
def test_both_engines_point_at_the_same_places(payload, paths):
    for engine in ENGINES:
        errors = json_schema.compile_schema(ORDER, engine).errors(payload, 10)
        assert sorted(e["path"] for e in errors) == sorted(paths), engine
        assert all(e["message"] for e in errors)


def test_long_messages_are_cut_and_errors_limited():
    schema = json.dumps({"type": "array", "items": {"type": "integer"}})
    for engine in ENGINES:
        errors = json_schema.compile_schema(schema, engine).errors(
            ["x" * 1000] * 50, 10
        )
        assert len(errors) == 10
        assert all(len(e["message"]) <= json_schema.MAX_ERROR_MESSAGE for e in errors)


def test_nothing_is_fetched():
    for engine in ENGINES:
        with pytest.raises(ValueError, match="refers to"):
            json_schema.compile_schema('{"$ref": "http://127.0.0.1:9/x.json"}', engine)


def test_a_number_python_cannot_compare_is_a_refusal_not_an_error():
    schema = json_schema.compile_schema(
        '{"properties": {"amount": {"multipleOf": 0.01}}}', "jsonschema"
    )
    huge = {"amount": 10**400}
    with pytest.raises(wv.Rejection) as refused:
        wv.schema_errors(schema, huge)
    assert refused.value.reason == "schema"
    assert "too large" in refused.value.message
    exact = json_schema.compile_schema(
        '{"properties": {"amount": {"multipleOf": 0.01}}}', "jsonschema-rs"
    )
    assert wv.schema_errors(exact, huge) == []
