import json

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..lib import event_schema
from .constraints import translated


class IntegrationWebhookEventType(models.Model):
    """A named, documented kind of outgoing webhook (``sale.order.confirmed``).

    Receivers tell events apart by their type and build on its schema: the
    JSON Schema of the event's ``data``, generated from the metadata of the
    fields it carries whenever it is shown, so that the catalog cannot drift
    from what is sent. ``schema_version`` counts the changes that broke
    receivers.
    """

    _name = "integration.webhook.event.type"
    _description = "Webhook Event Type"
    _order = "name, id"

    name = fields.Char(
        required=True,
        help="Dotted lower case, e.g. sale.order.confirmed: what receivers see "
        "as the event's type.",
    )
    description = fields.Text(help="What happened, for the receivers' developers.")
    model_id = fields.Many2one(
        "ir.model",
        required=True,
        ondelete="cascade",
        domain=[("transient", "=", False)],
    )
    model = fields.Char(related="model_id.model", store=True, string="Model Name")
    field_ids = fields.Many2many(
        "ir.model.fields",
        string="Fields",
        domain="[('model_id', '=', model_id)]",
        help="The fields the event's data carries, besides _model, _id and _action.",
    )
    schema = fields.Text(
        compute="_compute_schema",
        help="JSON Schema (2020-12) of the event's data, from the fields' metadata.",
    )
    example_payload = fields.Text(
        compute="_compute_schema",
        help="The data of this event for the latest record of its model.",
    )
    schema_version = fields.Integer(
        default=1,
        readonly=True,
        copy=False,
        help="Raised by each confirmed change that breaks receivers (a field "
        "removed, a field's type changed, the type renamed).",
    )
    confirm_breaking_change = fields.Boolean(
        compute="_compute_confirm_breaking_change",
        readonly=False,
        help="Tick to save a change that breaks the receivers of subscribed "
        "endpoints; the schema version goes up by one.",
    )
    active = fields.Boolean(default=True)
    portal_published = fields.Boolean(
        string="Published to Portal",
        help="Integration partners may subscribe their endpoints to it.",
    )
    action_ids = fields.One2many(
        "ir.actions.server",
        "webhook_event_type_id",
        string="Webhook Actions",
        # Server actions are for system administrators only.
        groups="base.group_system",
        help="The queued webhook actions that emit this event.",
    )
    action_count = fields.Integer(
        compute="_compute_action_count",
        compute_sudo=True,
        help="How many queued webhook actions send this event: their fields "
        "are the event's.",
    )

    _name_unique = models.Constraint(
        "UNIQUE (name)", "An event type with this name already exists."
    )

    @api.depends("name", "model_id", "field_ids", "description")
    def _compute_schema(self):
        for event_type in self:
            if not event_type.model or event_type.model not in self.env:
                event_type.schema = event_type.example_payload = False
                continue
            schema = event_type._data_schema()
            event_type.schema = json.dumps(schema, indent=2)
            event_type.example_payload = json.dumps(
                event_schema.example_data(schema, event_type._example_values()),
                indent=2,
                default=str,
            )

    def _compute_action_count(self):
        counts = dict(
            self.env["ir.actions.server"]._read_group(
                [("webhook_event_type_id", "in", self.ids)],
                ["webhook_event_type_id"],
                ["__count"],
            )
        )
        for event_type in self:
            event_type.action_count = counts.get(event_type, 0)

    def _compute_confirm_breaking_change(self):
        self.confirm_breaking_change = False

    @api.constrains("name")
    def _check_name(self):
        for event_type in self:
            if error := event_schema.valid_event_name(event_type.name):
                raise ValidationError(
                    self.env._(
                        "Event type %(name)s: %(error)s.",
                        name=repr(event_type.name),
                        error=translated(self.env, error),
                    )
                )

    @api.constrains("model_id", "field_ids")
    def _check_fields_of_model(self):
        for event_type in self:
            foreign = event_type.field_ids.filtered(
                lambda field, et=event_type: field.model_id != et.model_id
            )
            if foreign:
                raise ValidationError(
                    self.env._(
                        "Event type %(name)s: the fields %(fields)s are not fields "
                        "of %(model)s.",
                        name=event_type.name,
                        fields=", ".join(foreign.mapped("name")),
                        model=event_type.model,
                    )
                )

    def write(self, vals):
        # A confirmation, not data: it only says that this write may break.
        vals = dict(vals)
        confirmed = vals.pop("confirm_breaking_change", False)
        watched = {"name", "model_id", "field_ids"} & vals.keys()
        before = {
            event_type: event_type._data_schema()
            for event_type in self
            if watched and event_type.model in self.env
        }
        result = super().write(vals)
        if before:
            self._check_breaking_changes(before, confirmed)
        return result

    def _check_breaking_changes(self, before, confirmed):
        """Raises UserError naming the subscribed endpoints and what breaks
        for them, unless ``confirmed``; a confirmed breaking change raises
        the schema version."""
        subscriptions = (
            self.env["integration.webhook.subscription"]
            .sudo()
            .search(
                [("event_type_id", "in", self.ids), ("endpoint_id.active", "=", True)]
            )
        )
        for event_type, old_schema in before.items():
            changes = event_schema.breaking_changes(
                old_schema, event_type._data_schema()
            )
            endpoints = subscriptions.filtered(
                lambda s, et=event_type: s.event_type_id == et
            ).endpoint_id
            if not changes or not endpoints:
                continue
            if not confirmed:
                raise UserError(
                    self.env._(
                        "This change breaks the receivers of %(endpoints)s, which "
                        'subscribe to %(type)s: %(changes)s. Tick "Confirm breaking '
                        'change" and save again to make it; the schema version '
                        "goes to %(version)s.",
                        endpoints=", ".join(endpoints.mapped("name")),
                        type=event_type.name,
                        changes="; ".join(changes),
                        version=event_type.schema_version + 1,
                    )
                )
            event_type.sudo().schema_version += 1

    def _sample_payload(self):
        """The body of this event as its actions send it, for the latest
        record of its model that the current user may read (a test event
        carries nothing the sender could not read); without such a record,
        the schema's example."""
        self.ensure_one()
        Model = self.env[self.model]
        record = Model.browse()
        if Model.has_access("read"):
            record = Model.search([], limit=1, order="id desc")
        names = [
            name for name in self.field_ids.mapped("name") if name in Model._fields
        ]
        values = {
            "_model": self.model,
            "_id": record.id or 0,
            "_action": f"test of {self.name}",
        }
        if record and names:
            values.update(record.read(names, load=None)[0])
        elif names:
            example = event_schema.example_data(self._data_schema())
            values.update({name: example[name] for name in ["id", *names]})
        return json.dumps(values, sort_keys=True, default=str)

    def _data_schema(self):
        """The JSON Schema of this event's data, as a dict."""
        self.ensure_one()
        names = self.field_ids.mapped("name")
        metadata = (
            self.env[self.model]
            .sudo()
            .fields_get(
                names,
                [
                    "type",
                    "string",
                    "help",
                    "relation",
                    "selection",
                    "required",
                    "readonly",
                ],
            )
        )
        return event_schema.data_schema(
            self.name,
            self.model,
            {name: metadata[name] for name in names if name in metadata},
            description=self.description or None,
        )

    def _example_values(self):
        """The payload values of the latest record of the model the current
        user may read, or {} when there is none."""
        self.ensure_one()
        Model = self.env[self.model]
        if not Model.has_access("read"):
            return {}
        record = Model.search([], limit=1, order="id desc")
        if not record:
            return {}
        names = [
            name for name in self.field_ids.mapped("name") if name in Model._fields
        ]
        values = record.read(names, load=None)[0] if names else {}
        return {"_id": record.id, **values}

    @api.model
    def _catalog(self):
        """The active event types published in the AsyncAPI document, as the
        mappings :func:`lib.asyncapi.document` takes."""
        return [
            {
                "name": event_type.name,
                "description": event_type.description,
                "schema": event_type._data_schema(),
                "schema_version": event_type.schema_version,
            }
            for event_type in self.sudo().search([])
            if event_type.model in self.env
        ]
