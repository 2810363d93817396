"""Paths, read specifications and domains: what reading along field paths
reaches (group-by, aggregate, order and search-panel paths, nested read
specifications, domain leaves and the groups a grouped read reopens)."""

from collections.abc import Mapping

from ..api_policy import READ
from .common import MAX_DEPTH, REFERENCES, Unanalysable


class Paths:
    """The part of an analysis that follows paths, specifications and
    domains (mixed into the analysis state, which provides ``add`` and
    ``fields``)."""

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


def _has_text(value):
    if isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, str) for v in value)
