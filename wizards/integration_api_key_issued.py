from odoo import api, fields, models


def policy_in_words(policy):
    """What ``policy`` lets its keys do, in plain words, one line per
    setting: what the person handing the key over can tell its holder."""
    env = policy.env
    if not policy:
        return env._("No policy: the key has the full rights of its user.")
    lines = []
    for rule in policy.rule_ids:
        models_text = (
            env._("any model")
            if rule.model_pattern.strip() == "*"
            else rule.model_pattern
        )
        methods_text = (
            env._("any method")
            if rule.method_pattern.strip() == "*"
            else rule.method_pattern
        )
        if rule.effect == "deny":
            lines.append(
                env._(
                    "Denies %(methods)s on %(models)s.",
                    methods=methods_text,
                    models=models_text,
                )
            )
        else:
            lines.append(
                env._(
                    "Allows %(methods)s on %(models)s.",
                    methods=methods_text,
                    models=models_text,
                )
            )
    lines.append(env._("Refuses everything no rule allows."))
    if policy.read_only:
        lines.append(env._("Read-only: only methods that read."))
    if (policy.allowed_networks or "").strip():
        lines.append(
            env._(
                "Only from %(networks)s.",
                networks=", ".join(policy.allowed_networks.split()),
            )
        )
    if policy.rate_limit:
        lines.append(env._("At most %(limits)s calls.", limits=policy.rate_limit))
    if policy.max_key_lifetime_days:
        lines.append(
            env._("Keys live at most %(days)s days.", days=policy.max_key_lifetime_days)
        )
    if policy.allow_legacy_rpc:
        lines.append(env._("XML-RPC and JSON-RPC allowed too."))
    else:
        lines.append(env._("JSON/2 only: XML-RPC and JSON-RPC refused."))
    return "\n".join(lines)


class IntegrationApiKeyIssued(models.TransientModel):
    """The dialog showing a key issued for another user, once: for whom,
    under which policy in plain words, until when, and the key with a copy
    button. Nothing is stored: the dialog is a new record filled from its
    action's context, as Odoo's own key dialog is."""

    _name = "integration.api.key.issued"
    _description = "API Key Issued"

    # the field 'id' is needed for the onchange that fills the dialog
    id = fields.Id()
    key = fields.Char(readonly=True)
    user_id = fields.Many2one("res.users", string="For", readonly=True)
    key_name = fields.Char(string="Description", readonly=True)
    policy_id = fields.Many2one("integration.api.policy", readonly=True)
    expiration_date = fields.Datetime(string="Expires", readonly=True)
    policy_summary = fields.Text(
        string="What the key may do", compute="_compute_policy_summary"
    )

    @api.depends("policy_id")
    def _compute_policy_summary(self):
        for dialog in self:
            dialog.policy_summary = policy_in_words(dialog.policy_id.sudo())
