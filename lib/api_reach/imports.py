"""Imports and exports: the columns of a ``load`` (which create, update or
resolve by name the records they pass through) and the paths of an
export."""

from ..api_policy import CREATE, READ, WRITE
from .common import MAX_DEPTH, X2MANY, Unanalysable


class Imports:
    """The part of an analysis that follows import columns and export
    paths (mixed into the analysis state, which provides ``add``,
    ``fields``, ``path`` and ``name_create``)."""

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
