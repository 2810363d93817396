import dataclasses

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..lib import standard_webhooks
from ..lib.outbox import endpoint as outbox_endpoint
from ..lib.outbox import oauth2
from .constraints import translated

ALGORITHMS = {
    "hmac_sha256": standard_webhooks.generate_secret,
    "ed25519": standard_webhooks.generate_signing_key,
}


class IntegrationWebhookEndpoint(models.Model):
    """How an endpoint proves itself to its receiver: its signature
    algorithm (a shared HMAC secret, or an Ed25519 key pair whose public
    half is all the receiver holds) and its OAuth2 client."""

    _inherit = "integration.webhook.endpoint"

    signature_algorithm = fields.Selection(
        [
            ("hmac_sha256", "HMAC-SHA256 (shared secret, v1)"),
            ("ed25519", "Ed25519 (public key, v1a)"),
        ],
        default="hmac_sha256",
        required=True,
        tracking=True,
        help="HMAC-SHA256: the receiver holds the secret, so whoever verifies "
        "could also sign. Ed25519: deliveries are signed with a private key "
        "only this database holds; the receiver verifies them with the public "
        "key. Changing it rotates the secret: the previous one keeps signing "
        "during the grace period.",
    )
    secret = fields.Char(
        help="The signing secret: whsec_... (HMAC-SHA256) or the Ed25519 private "
        "key whsk_.... Only system administrators see it. Give a whsec_ secret "
        "to the receiver; with Ed25519 give the public key instead.",
    )
    public_key = fields.Char(
        compute="_compute_public_key",
        compute_sudo=True,
        store=True,
        help="The Ed25519 public key (whpk_...) the receiver verifies v1a "
        "signatures with. It cannot sign: it may be shared freely.",
    )
    auth_type = fields.Selection(
        [
            ("none", "None"),
            ("oauth2_client_credentials", "OAuth2 Client Credentials"),
        ],
        string="Authentication",
        default="none",
        required=True,
        tracking=True,
        help="OAuth2 client credentials: an access token is asked of the token "
        "URL, kept until shortly before it expires (by all dispatchers), and sent "
        "as Authorization: Bearer; after a 401 a new one is asked for once.",
    )
    oauth2_token_url = fields.Char(
        string="Token URL",
        tracking=True,
        help="The token endpoint of the receiver's authorization server (https).",
    )
    oauth2_client_id = fields.Char(string="Client ID", tracking=True)
    oauth2_client_secret = fields.Char(
        string="Client Secret", groups="base.group_system", copy=False
    )
    oauth2_scope = fields.Char(string="Scope", help="Space-separated scopes.")
    oauth2_audience = fields.Char(
        string="Audience",
        help="Sent as the audience parameter, for servers that want it (Auth0).",
    )

    @api.depends("secret")
    def _compute_public_key(self):
        for endpoint in self:
            secret = endpoint.secret or ""
            try:
                endpoint.public_key = (
                    standard_webhooks.public_key(secret)
                    if secret.startswith(standard_webhooks.SIGNING_KEY_PREFIX)
                    else False
                )
            except ValueError:
                endpoint.public_key = False

    @api.constrains("signature_algorithm", "secret")
    def _check_secret_algorithm(self):
        for endpoint in self.sudo():
            try:
                if endpoint.signature_algorithm == "ed25519":
                    standard_webhooks.public_key(endpoint.secret)
                else:
                    standard_webhooks.decode_secret(endpoint.secret)
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "The secret of endpoint %(name)s does not fit its "
                        "signature algorithm: %(error)s",
                        name=endpoint.name,
                        error=translated(self.env, exc),
                    )
                ) from exc

    @api.constrains("auth_type", "oauth2_token_url", "oauth2_client_id")
    def _check_oauth2(self):
        for endpoint in self.filtered(
            lambda e: e.auth_type == "oauth2_client_credentials"
        ):
            if not (endpoint.oauth2_token_url and endpoint.oauth2_client_id):
                raise ValidationError(
                    self.env._(
                        "Endpoint %(name)s: OAuth2 client credentials need a token "
                        "URL and a client ID.",
                        name=endpoint.name,
                    )
                )
            try:
                oauth2.check_token_url(endpoint.oauth2_token_url)
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "The token URL of endpoint %(name)s is not valid: %(error)s",
                        name=endpoint.name,
                        error=translated(self.env, exc),
                    )
                ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        # The secret is for system administrators only: an Ed25519 endpoint
        # made by someone else gets its key pair from the superuser, after
        # it is created with the default (HMAC) secret.
        vals_list = [dict(vals) for vals in vals_list]
        key_pairs = []
        for index, vals in enumerate(vals_list):
            if vals.get("signature_algorithm") == "ed25519" and not vals.get("secret"):
                vals["signature_algorithm"] = "hmac_sha256"
                key_pairs.append(index)
        endpoints = super().create(vals_list)
        for index in key_pairs:
            # Past this class's write and its guards: the superuser sets the
            # key pair the creator could not.
            super(  # pylint: disable=super-method-mismatch
                IntegrationWebhookEndpoint, endpoints[index].sudo()
            ).write(
                {
                    "signature_algorithm": "ed25519",
                    "secret": standard_webhooks.generate_signing_key(),
                }
            )
        return endpoints

    def write(self, vals):
        switched = self.browse()
        if "signature_algorithm" in vals:
            if not self.env.is_system():
                raise AccessError(
                    self.env._(
                        "Only system administrators can change how an endpoint "
                        "signs: it replaces its secret."
                    )
                )
            if "secret" not in vals:
                switched = self.filtered(
                    lambda e: e.signature_algorithm != vals["signature_algorithm"]
                )
        token_moved = self.browse()
        if "oauth2_token_url" in vals and not self.env.is_system():
            token_moved = self.filtered(
                lambda e: e.oauth2_token_url != vals["oauth2_token_url"]
            )
        if switched:
            vals = dict(vals)
            algorithm = vals.pop("signature_algorithm")
            result = super().write(vals) if vals else True
            switched._switch_algorithm(algorithm)
            (self - switched).write({"signature_algorithm": algorithm})
        else:
            result = super().write(vals)
        if token_moved:
            token_moved._drop_administrator_settings()
        return result

    def _switch_algorithm(self, algorithm):
        """Signs with ``algorithm`` from now on, under a new secret; the
        previous secret keeps signing during the grace period, so that the
        receiver can move to the new key without losing a delivery."""
        now = fields.Datetime.now()
        for endpoint in self:
            previous, until = outbox_endpoint.rotation(
                endpoint.secret, endpoint.secret_grace_hours, now
            )
            # Past this class's write, which would switch the algorithm again.
            super(  # pylint: disable=super-method-mismatch
                IntegrationWebhookEndpoint, endpoint
            ).write(
                {
                    "signature_algorithm": algorithm,
                    "secret": ALGORITHMS[algorithm](),
                    "previous_secret": previous,
                    "previous_secret_expires_at": until,
                }
            )
            endpoint.message_post(
                body=self.env._(
                    "Deliveries are now signed with %(algorithm)s under a new "
                    "secret; the previous one keeps signing until %(until)s (UTC).",
                    algorithm=algorithm,
                    until=fields.Datetime.to_string(until or now),
                )
            )
        return True

    def _drop_administrator_settings(self):
        """Also clears the OAuth2 client secret: it was given for the token
        URL, and the token for the receiver, that an administrator saw. (A
        moved token URL drops the private-network permission too: the token
        request goes through the same guard as the deliveries.)"""
        dropped = self.sudo().filtered("oauth2_client_secret")
        result = super()._drop_administrator_settings()
        for endpoint in dropped:
            endpoint.oauth2_client_secret = False
            endpoint.message_post(
                body=self.env._(
                    "The URL or token URL was changed by %(user)s: the OAuth2 "
                    "client secret was removed. A system administrator can set "
                    "it again.",
                    user=self.env.user.name,
                )
            )
        return result

    def _new_secret(self):
        """A new secret of this endpoint's signature algorithm."""
        self.ensure_one()
        return ALGORITHMS[self.signature_algorithm]()

    def _outbox_settings(self):
        settings = super()._outbox_settings()
        if self.auth_type != "oauth2_client_credentials":
            return settings
        credentials = oauth2.ClientCredentials(
            token_url=self.oauth2_token_url or "",
            client_id=self.oauth2_client_id or "",
            client_secret=self.sudo().oauth2_client_secret or "",
            scope=self.oauth2_scope or "",
            audience=self.oauth2_audience or "",
        )
        cache = self.env["integration.webhook.oauth2.token"]._token_cache()
        return dataclasses.replace(
            settings, auth=oauth2.TokenSource(credentials, cache)
        )
