"""Reach of an API call: every model a call names and what it does to it.

A key's policy is written as rules on models and methods, but one call can
name many models: ``res.partner.write`` with ``{"user_ids": [[1, 7,
{...}]]}`` writes a ``res.users`` record, ``web_read`` with a nested
specification reads the models behind relational fields, a domain leaf
``user_ids.login`` reads ``res.users``. :func:`reach` lists each ``(model,
operation)`` a call's ARGUMENTS name, so that the policy can be applied to
all of them and not only to the model in the URL
(:func:`lib.api_policy.check_reach`).

What counts as the key's request is drawn here: what the arguments name.
Relational commands in values (``vals``, ``vals_list``, ``default``, the
context's ``default_*`` keys), ``_inherits`` delegated and writable related
fields, import paths (of ``load`` and of the import wizard, whose records
name their model: :func:`import_reach`), read specifications, domain,
group-by, aggregate, order and export paths, and model names passed as
arguments. What Odoo's
own code does as a consequence of the call (computed fields, onchanges,
work it does under sudo or with the user's access rights) is not the key's
request and is not analysed.

Operations: ``read``, ``create``, ``write`` and ``unlink``, which the
policy maps to its method rules (:data:`lib.api_policy.OPERATION_METHODS`).

What cannot be analysed (an unknown relational command, nesting deeper than
:data:`MAX_DEPTH`) raises :class:`Unanalysable`: the call is refused, never
let through unexamined. Values of a shape Odoo itself rejects (a string
where a dict is expected, an unknown field) are left to Odoo, which refuses
the call before it writes anything.

Nothing here imports Odoo: the models describe fields through a callable
``fields_of(model) -> {name: FieldInfo}`` (None for an unknown model).

The package: this module takes a call's arguments by name and hands each
to the part of the analysis that reads it, ``values`` (values and
relational commands), ``paths`` (paths, read specifications, domains) or
``imports`` (import columns, export paths); ``common`` holds what they
share (:class:`FieldInfo`, :class:`Unanalysable`, :data:`MAX_DEPTH`).

>>> fields = {
...     "res.partner": {
...         "name": FieldInfo("char"),
...         "user_ids": FieldInfo("one2many", "res.users"),
...     },
...     "res.users": {
...         "login": FieldInfo("char"),
...         "group_ids": FieldInfo("many2many", "res.groups"),
...     },
... }
>>> sorted(reach("res.partner", "write",
...     {"vals": {"user_ids": [[1, 7, {"group_ids": [[4, 1]]}]]}}, fields.get))
[('res.users', 'write')]
>>> sorted(reach("res.partner", "web_search_read",
...     {"domain": [], "specification": {"user_ids": {"fields": {"login": {}}}}},
...     fields.get))
[('res.users', 'read')]
"""

from collections.abc import Mapping

from ..api_policy import API_KEYS_MODEL, CREATE, READ, UNLINK, WRITE
from .common import MAX_DEPTH, FieldInfo, Unanalysable
from .imports import Imports
from .paths import Paths
from .values import Values

__all__ = [
    "API_KEYS_MODEL",
    "CREATE",
    "MAX_DEPTH",
    "READ",
    "UNLINK",
    "WRITE",
    "FieldInfo",
    "Unanalysable",
    "import_reach",
    "reach",
]

# Arguments, by name, and how they name models.
VALUES_ARGS = (
    "vals",
    "values",
    "vals_list",
    "default",
    "custom_values",
    "update_vals",
    "values_list",
)
SPEC_ARGS = ("specification", "fields_spec", "unfold_read_specification")
DOMAIN_ARGS = (
    "domain",
    "having",
    "search_domain",
    "category_domain",
    "filter_domain",
    "comodel_domain",
)
PATH_ARGS = ("fields", "field_names", "groupby", "group_by")
PATH_LIST_ARGS = ("aggregates", "grouping_sets")
ORDER_ARGS = ("order", "orderby")
MODEL_NAME_ARGS = ("model", "model_name", "res_model")
# Methods whose model-name argument is not only read: they create records
# of that model.
MODEL_NAME_CREATES = frozenset({"message_process"})
# Methods whose values make new records.
CREATING_METHODS = frozenset({"create", "copy", "message_new", "create_unique"})
# Methods that ignore their values: an onchange computes on new records and
# saves nothing.
VALUES_IGNORED = frozenset({"onchange"})


class _Reach(Values, Paths, Imports):
    """The state of one analysis: the fields callable, the context's
    defaults, and the operations found."""

    def __init__(self, fields_of, context):
        self.fields_of = fields_of
        self.found = set()
        context = context if isinstance(context, Mapping) else {}
        self.defaults = {
            key[len("default_") :]: value
            for key, value in context.items()
            if isinstance(key, str) and key.startswith("default_")
        }
        self.defaults_done = set()
        # an import may create the records it does not find by name
        enabled = context.get("name_create_enabled_fields")
        self.name_create = isinstance(enabled, Mapping) and any(enabled.values())

    def add(self, model, operation):
        self.found.add((model, operation))

    def fields(self, model):
        return self.fields_of(model) or {}

    def argument(self, model, method, name, value, *, has_ids, named):
        """One argument of the call, by its parameter's name."""
        if name in VALUES_ARGS and method not in VALUES_IGNORED:
            operation = _values_operation(method, has_ids)
            target = named if named and method in MODEL_NAME_CREATES else model
            for vals in value if isinstance(value, list | tuple) else [value]:
                self.values(target, vals, operation, 0)
        elif name in SPEC_ARGS:
            self.specification(model, value, 0)
        elif name == "field_name":
            # a search panel lists the records of the field's comodel
            _last, info = self.path(model, value)
            if info is not None and info.comodel:
                self.add(info.comodel, READ)
        elif (name in PATH_ARGS and method != "load") or name in PATH_LIST_ARGS:
            self.spec_paths(model, value)
        elif name in ORDER_ARGS:
            self.order(model, value)
        elif name == "progress_bar" and isinstance(value, Mapping):
            self.path(model, value.get("field"))
        elif name == "fields_to_export":
            self.export_paths(model, value)
        elif name == "groupby_read_specification" and isinstance(value, Mapping):
            # a read specification of each group-by field's comodel
            for path, spec in value.items():
                _last, info = self.path(model, path)
                if info is not None and info.comodel:
                    self.add(info.comodel, READ)
                    self.specification(info.comodel, spec, 1)
        elif name == "opening_info":
            self.opening_info(model, value, 0)


def reach(model, method, arguments, fields_of, *, context=None, has_ids=False):
    """The set of ``(model, operation)`` that a call of ``model.method``
    with ``arguments`` (its parameters by name, as the method's signature
    binds them) reaches beyond the method itself.

    ``fields_of(model)`` describes a model's fields as ``{name:
    FieldInfo}``, None for an unknown model; ``context`` is the call's
    context; ``has_ids`` says whether the call is made on records (for
    ``web_save``, a write; without records, a create). Raises
    :class:`Unanalysable` for arguments whose reach cannot be told.
    """
    state = _Reach(fields_of, context)
    named = _named_model(arguments)
    for name, value in arguments.items():
        state.argument(model, method, name, value, has_ids=has_ids, named=named)
    if method == "load" and isinstance(arguments.get("fields"), list | tuple):
        paths = [p.split("/") for p in arguments["fields"] if isinstance(p, str)]
        state.import_paths(model, paths, 0)
    if method in ("create", "copy", "load", "name_create") or (
        method in ("web_save", "web_save_multi") and not has_ids
    ):
        state.context_defaults(model, 0)
    for name in DOMAIN_ARGS:
        if name in arguments:
            state.domain(named or model, arguments[name], 0)
    if named:
        state.add(named, CREATE if method in MODEL_NAME_CREATES else READ)
    return state.found


def _values_operation(method, has_ids):
    if method in CREATING_METHODS or method in MODEL_NAME_CREATES:
        return CREATE
    if method in ("web_save", "web_save_multi"):
        return WRITE if has_ids else CREATE
    return WRITE


def _named_model(arguments):
    for name in MODEL_NAME_ARGS:
        value = arguments.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def import_reach(models, fields, options, fields_of):
    """What an import of the wizard ``base_import.import`` reaches: its
    records name the model they import into (``models``, read by the caller
    from the records), whose records the import creates or updates along
    the ``fields`` columns, as :func:`reach` tells of ``load``."""
    options = options if isinstance(options, Mapping) else {}
    context = {"name_create_enabled_fields": options.get("name_create_enabled_fields")}
    paths = [field for field in fields if isinstance(field, str)]
    found = set()
    for model in models:
        found |= {(model, CREATE), (model, WRITE)}
        found |= reach(model, "load", {"fields": paths}, fields_of, context=context)
    return found
