"""The reach of a key's call checked against its policy: the adapter
between the ORM and :mod:`lib.api_reach`.

A call names models beyond the one in its URL (relational commands, read
specifications, domains, imports, ...). This binds the call's arguments to
the method's signature, describes the fields of the models they name to
:mod:`lib.api_reach`, and applies the policy to every model and operation
found (:func:`lib.api_policy.check_reach`).
"""

import functools
import inspect
import logging

from odoo import api, models, tools

from ..lib import api_policy, api_reach

_logger = logging.getLogger(__name__)

# The import wizard's call that loads into the model its records name.
IMPORT_WIZARD_CALL = ("base_import.import", "execute_import")


def _signature(func):
    """The signature of a model's method, worked out once per process: it
    is the costliest part of binding a call's arguments, and a function's
    signature never changes (a callable that cannot be a cache key gets
    its signature each time)."""
    try:
        hash(func)
    except TypeError:
        return inspect.signature(func)
    return _cached_signature(func)


_cached_signature = functools.lru_cache(maxsize=1024)(inspect.signature)


class IntegrationApiPolicyReach(models.Model):
    """The reach check of API key policies (see the module's docstring)."""

    _inherit = "integration.api.policy"

    @api.model
    def _integration_enforce_reach(
        self, policy, api_key, model, method, args, kwargs, ids=None
    ):
        """Raises AccessError naming the model and operation when the
        compiled ``policy`` refuses a model or an operation that the call of
        ``model.method`` reaches through its arguments: relational commands,
        import, read, domain, group-by, order and export paths, model names
        (see :mod:`lib.api_reach`).

        ``args`` and ``kwargs`` are the call's as Odoo's ``call_kw`` takes
        them (the records' ids first unless the method is ``@api.model``,
        the context among ``kwargs``); JSON/2 passes its ``ids`` apart.
        Arguments that do not fit the method's signature are left to Odoo,
        which refuses the call before it runs."""
        bound = self._integration_bind(model, method, args, kwargs, ids)
        if bound is None:
            return
        arguments, ids, context = bound
        try:
            reached = api_reach.reach(
                model,
                method,
                arguments,
                self._integration_fields_of,
                context=context,
                has_ids=bool(ids),
            )
            if (model, method) == IMPORT_WIZARD_CALL:
                reached = reached | self._integration_import_reach(ids, arguments)
            if model == api_reach.API_KEYS_MODEL and not self._integration_is_readonly(
                model, method
            ):
                # called on the keys themselves: refused here, before the
                # model's own wall
                reached = reached | {(model, api_reach.WRITE)}
            api_policy.check_reach(policy, reached)
        except api_reach.Unanalysable as error:
            denied = api_policy.PolicyDenied(
                api_policy.REASON_REACH, f"its arguments cannot be checked: {error}"
            )
        except api_policy.PolicyDenied as error:
            denied = error
        else:
            return
        _logger.info(
            "API key #%s refused (%s): %s", api_key.key_id, denied.reason, denied
        )
        raise self._integration_denial(
            policy, f"{model}.{method}", denied, model=model, method=method
        )

    @api.model
    def _integration_bind(self, model, method, args, kwargs, ids=None):
        """The arguments of a call of ``model.method`` by parameter name,
        the ids of the records it is made on, and its context; None when the
        method does not exist or the arguments do not fit its signature
        (Odoo refuses such a call before running it)."""
        try:
            func = getattr(self.env.registry[model], method)
        except (KeyError, AttributeError, TypeError):
            return None
        if not callable(func) or not isinstance(args, list | tuple):
            return None
        if not isinstance(kwargs, dict):
            return None
        kwargs = dict(kwargs)
        context = kwargs.pop("context", None)
        if ids is None:
            ids = ()
            if not getattr(func, "_api_model", False) and args:
                ids, args = args[0], args[1:]
        try:
            bound = _signature(func).bind(None, *args, **kwargs)
        except (TypeError, ValueError):
            return None
        arguments = {}
        for name, value in list(bound.arguments.items())[1:]:
            kind = bound.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                arguments.update(value)
            elif kind is not inspect.Parameter.VAR_POSITIONAL:
                arguments[name] = value
        return arguments, ids, context

    @api.model
    def _integration_import_reach(self, ids, arguments):
        """What an import wizard's ``execute_import`` reaches: the model
        its records import into is in their data, read here."""
        if isinstance(ids, int):
            ids = [ids]
        if not isinstance(ids, list | tuple) or not all(
            isinstance(i, int) for i in ids
        ):
            return set()  # Odoo refuses such ids
        wizards = self.env[IMPORT_WIZARD_CALL[0]].sudo().browse(ids).exists()
        return api_reach.import_reach(
            set(wizards.mapped("res_model")),
            arguments.get("fields") or (),
            arguments.get("options"),
            self._integration_fields_of,
        )

    @api.model
    @tools.ormcache("model")
    def _integration_fields_of(self, model):
        """What :mod:`lib.api_reach` needs to know of ``model``'s fields, or
        None for a model this database does not have."""
        try:
            Model = self.env[model]
        except KeyError:
            return None
        described = {}
        for name, field in Model._fields.items():
            delegate = related_model = None
            if field.inherited:
                delegate = Model._fields[field.related.split(".")[0]].comodel_name
            elif field.related and field.inverse and field.related_field:
                related_model = field.related_field.model_name
            cascade = False
            if field.type == "one2many":
                inverse = self.env[field.comodel_name]._fields.get(field.inverse_name)
                cascade = getattr(inverse, "ondelete", None) == "cascade"
            described[name] = api_reach.FieldInfo(
                field.type,
                getattr(field, "comodel_name", None),
                delegate=delegate,
                related_model=related_model,
                cascade=cascade,
            )
        return described
