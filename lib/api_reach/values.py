"""Values and relational commands: what a create or a write reaches
through the x2many commands of its values, ``_inherits`` delegated and
writable related fields, and the context's ``default_*`` keys."""

from collections.abc import Mapping

from ..api_policy import CREATE, UNLINK, WRITE
from .common import MAX_DEPTH, X2MANY, Unanalysable


class Values:
    """The part of an analysis that follows values and relational commands
    (mixed into the analysis state, which provides ``add``, ``fields`` and
    the context's ``defaults``)."""

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
