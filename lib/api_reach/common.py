"""What every part of the reach analysis shares: the limit of nesting, the
field types that name models, how a model's fields are described
(:class:`FieldInfo`) and the refusal of what cannot be analysed
(:class:`Unanalysable`)."""

from dataclasses import dataclass

# Nesting deeper than this (commands in commands, specifications in
# specifications) is refused rather than followed: no client needs it.
MAX_DEPTH = 12

X2MANY = ("one2many", "many2many")
REFERENCES = ("reference", "many2one_reference")


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
