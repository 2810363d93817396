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
from dataclasses import dataclass

from .api_policy import API_KEYS_MODEL, CREATE, READ, UNLINK, WRITE

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

# Nesting deeper than this (commands in commands, specifications in
# specifications) is refused rather than followed: no client needs it.
MAX_DEPTH = 12

X2MANY = ("one2many", "many2many")
REFERENCES = ("reference", "many2one_reference")

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


class Unanalysable(Exception):
    """Arguments whose reach cannot be told; the call is refused."""


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the reach analysis needs to know of a field.

    ``delegate`` is the parent model of an ``_inherits`` delegated field (a
    write of the field writes that model, a create creates it);
    ``related_model`` the model a writable related field writes to;
    ``cascade`` is True for a one2many whose inverse deletes on cascade (a
    record taken out of it is deleted, not unlinked).
    """

    type: str
    comodel: str | None = None
    delegate: str | None = None
    related_model: str | None = None
    cascade: bool = False


class _Reach:
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

    # values and relational commands

    def values(self, model, vals, operation, depth):
        """``vals`` applied to a record of ``model`` that is being created
        or written (``operation``)."""
        if depth > MAX_DEPTH:
            raise Unanalysable("values nested too deeply")
        if operation == CREATE:
            self.context_defaults(model, depth)
        if not isinstance(vals, Mapping):
            return  # Odoo refuses values that are not a dict
        fields = self.fields(model)
        for name, value in vals.items():
            info = fields.get(name)
            if info is None:
                continue
            if info.delegate:
                self.add(info.delegate, operation)
            elif info.related_model:
                self.add(info.related_model, WRITE)
            if info.type in X2MANY:
                self.commands(info, value, operation == CREATE, depth + 1)

    def context_defaults(self, model, depth):
        """The context's ``default_*`` values fill every record of a model
        created in the call that has such a field."""
        if not self.defaults or model in self.defaults_done:
            return
        self.defaults_done.add(model)
        fields = self.fields(model)
        own = {name: value for name, value in self.defaults.items() if name in fields}
        if own:
            self.values(model, own, WRITE, depth + 1)

    def commands(self, info, value, creating, depth):
        """The x2many commands ``value`` given to field ``info``."""
        comodel = info.comodel
        one2many = info.type == "one2many"
        # A record taken out of a one2many has its inverse emptied, or is
        # deleted when the inverse cascades.
        detach = UNLINK if info.cascade else WRITE
        if value is False or value is None:
            if one2many and not creating:
                self.add(comodel, detach)
            return
        if not isinstance(value, list | tuple):
            raise Unanalysable(f"{value!r} is not a list of relational commands")
        for command in value:
            if isinstance(command, int) and not isinstance(command, bool):
                if one2many:  # a list of ids: the records to keep
                    self.add(comodel, WRITE)
                    if not creating:
                        self.add(comodel, detach)
            elif isinstance(command, list | tuple) and command:
                self.command(info, command, creating, depth)
            else:
                raise Unanalysable(f"{command!r} is not a relational command")

    def command(self, info, command, creating, depth):
        """One x2many command: 0 create, 1 write, 2 delete, 3 unlink, 4 link,
        5 clear, 6 set."""
        comodel, code = info.comodel, command[0]
        if code == 0:
            self.add(comodel, CREATE)
            if len(command) > 2:
                self.values(comodel, command[2], CREATE, depth)
        elif code == 1:
            self.add(comodel, WRITE)
            if len(command) > 2:
                self.values(comodel, command[2], WRITE, depth)
        elif code == 2:
            self.add(comodel, UNLINK)
        elif code in (3, 4, 5, 6):
            # on a many2many only the link table of the record being written
            # changes; on a one2many the comodel's records do
            if info.type == "one2many":
                self.add(comodel, WRITE)
                if code != 4 and not creating:
                    self.add(comodel, UNLINK if info.cascade else WRITE)
        else:
            raise Unanalysable(f"{command!r} is not a relational command")

    # paths

    def path(self, model, path, separator="."):
        """A path of field names from ``model``: reading it reads every
        model it passes through."""
        if not isinstance(path, str):
            return None, None
        info = None
        for name in path.split(separator):
            if info is not None:
                if not info.comodel:
                    return None, None  # a property or a granularity: no model
                model = info.comodel
                self.add(model, READ)
            info = self.fields(model).get(name.strip())
            if info is None:
                return None, None
        return model, info

    def spec_paths(self, model, values):
        """Group-by, aggregate and field specifications: ``a.b:month``,
        ``total:sum``, ``alias:sum(a.b)``, or a list of them."""
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list | tuple):
            return
        for value in values:
            if isinstance(value, list | tuple):  # grouping sets
                self.spec_paths(model, value)
                continue
            if not isinstance(value, str):
                continue
            text = value
            if "(" in text and text.endswith(")"):
                text = text[text.index("(") + 1 : -1]
            self.path(model, text.split(":")[0].strip())

    def order(self, model, order):
        if not isinstance(order, str):
            return
        for part in order.split(","):
            words = part.split()
            if words:
                self.path(model, words[0])

    # read specifications and domains

    def specification(self, model, spec, depth):
        if depth > MAX_DEPTH:
            raise Unanalysable("specification nested too deeply")
        if not isinstance(spec, Mapping):
            return
        fields = self.fields(model)
        for name, sub in spec.items():
            info = fields.get(name)
            if info is None or not isinstance(sub, Mapping):
                continue
            if info.type in REFERENCES and sub.get("fields"):
                # the model read is the one each record refers to, which
                # the call does not name
                raise Unanalysable(f"fields read through the reference {name!r}")
            if not info.comodel:
                continue
            if "fields" in sub:
                self.add(info.comodel, READ)
                self.specification(info.comodel, sub["fields"], depth + 1)
            if "order" in sub:
                self.add(info.comodel, READ)
                self.order(info.comodel, sub["order"])

    def domain(self, model, domain, depth):
        if depth > MAX_DEPTH:
            raise Unanalysable("domain nested too deeply")
        if not isinstance(domain, list | tuple):
            return  # Odoo refuses it
        for leaf in domain:
            if not isinstance(leaf, list | tuple) or len(leaf) != 3:
                continue
            path, operator, value = leaf
            _last, info = self.path(model, path)
            if info is None or not info.comodel:
                continue
            if isinstance(operator, str) and operator.strip("!").endswith("any"):
                self.add(info.comodel, READ)
                self.domain(info.comodel, value, depth + 1)
            elif _has_text(value):
                # compared by name: the comodel's names are searched
                self.add(info.comodel, READ)

    def opening_info(self, model, groups, depth):
        """The groups a ``web_read_group`` reopens, each with the domain of
        a progress bar section and its own sub-groups."""
        if depth > MAX_DEPTH:
            raise Unanalysable("groups nested too deeply")
        if not isinstance(groups, list | tuple):
            return
        for group in groups:
            if isinstance(group, Mapping):
                self.domain(model, group.get("progressbar_domain"), depth + 1)
                self.opening_info(model, group.get("groups"), depth + 1)

    # imports and exports

    def import_paths(self, model, paths, depth):
        """``load`` columns (``user_ids/login``, ``partner_id/id``) below
        ``model``, as lists of segments."""
        if depth > MAX_DEPTH:
            raise Unanalysable("import paths nested too deeply")
        fields = self.fields(model)
        by_field = {}
        for segments in paths:
            if segments:
                by_field.setdefault(segments[0], []).append(segments[1:])
        for name, rests in by_field.items():
            info = fields.get(name)
            if info is None:
                continue
            if info.delegate:
                self.add(info.delegate, CREATE)
                self.add(info.delegate, WRITE)
            elif info.related_model:
                self.add(info.related_model, WRITE)
            if not info.comodel:
                continue
            subfields = [
                rest for rest in rests if rest and rest[0] not in ("id", ".id")
            ]
            if info.type in X2MANY and subfields:
                # sub-records created, or updated when a column names them
                self.add(info.comodel, CREATE)
                if any(rest and rest[0] in ("id", ".id") for rest in rests):
                    self.add(info.comodel, WRITE)
                self.import_paths(info.comodel, subfields, depth + 1)
            else:
                # references resolved by name or external id
                self.add(info.comodel, READ)
                if self.name_create:
                    self.add(info.comodel, CREATE)

    def export_paths(self, model, paths):
        if not isinstance(paths, list | tuple):
            return
        for path in paths:
            if isinstance(path, str):
                segments = [s for s in path.split("/") if s not in ("id", ".id")]
                self.path(model, "/".join(segments), separator="/")


def _has_text(value):
    if isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, str) for v in value)


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
