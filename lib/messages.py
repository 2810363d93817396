"""Messages of lib/ that people read in Odoo, translatable although lib/
imports no Odoo.

A parser refuses a value with :class:`Refusal`: a ValueError whose text is
a template marked with :func:`_lt` and its named values. Odoo's extraction
of the translation template reads every ``_lt("...")`` of the addon's
Python files, these included; the models translate the template in the
user's language (``models/constraints.py``, ``translated``), later, where
it is shown, as Odoo's own ``_lt`` does. ``str()`` of the error is the
English text, for logs and for HTTP answers to partners.

>>> error = Refusal(_lt("%(item)s is not a rate limit"), item="'ten'")
>>> str(error), error.template, error.values
("'ten' is not a rate limit", '%(item)s is not a rate limit', {'item': "'ten'"})
>>> isinstance(error, ValueError)
True
"""


def _lt(text):
    """Marks ``text`` for the translation template; it is translated where
    it is shown, by the models (lazily, hence Odoo's name for it)."""
    return text


class Refusal(ValueError):
    """A ValueError with a translatable message: ``template`` (marked with
    :func:`_lt`) and its named ``values``."""

    def __init__(self, template, **values):
        super().__init__(template % values if values else template)
        self.template = template
        self.values = values
