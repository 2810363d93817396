from odoo import models

from ..lib import api_policy


class IntegrationApiPolicy(models.Model):
    """A policy told in plain words, for the integration partners who see
    their keys on the portal."""

    _inherit = "integration.api.policy"

    def _integration_summary(self):
        """What keys under this policy may do, one sentence per line, from
        the policy as the key checks compile it."""
        self.ensure_one()
        policy = self._integration_compiled(self.id, self.revision)
        lines = []
        for rule in policy.rules:
            models_ = ", ".join(rule.model_patterns)
            methods = ", ".join(rule.method_patterns)
            if rule.model_patterns == ("*",):
                models_ = self.env._("any model")
            if rule.method_patterns == ("*",):
                methods = self.env._("any method")
            if rule.effect == api_policy.ALLOW:
                lines.append(
                    self.env._(
                        "Allows %(methods)s on %(models)s.",
                        methods=methods,
                        models=models_,
                    )
                )
            else:
                lines.append(
                    self.env._(
                        "Refuses %(methods)s on %(models)s.",
                        methods=methods,
                        models=models_,
                    )
                )
        if not policy.rules:
            lines.append(self.env._("Allows no call at all."))
        if policy.read_only:
            lines.append(self.env._("Read-only: no call may change anything."))
        if policy.networks:
            lines.append(
                self.env._(
                    "Only from %(networks)s.",
                    networks=", ".join(str(network) for network in policy.networks),
                )
            )
        else:
            lines.append(self.env._("From any network."))
        if policy.rate_limits:
            lines.append(
                self.env._(
                    "At most %(limits)s calls per key.",
                    limits=", ".join(str(limit) for limit in policy.rate_limits),
                )
            )
        else:
            lines.append(self.env._("No rate limit."))
        if policy.max_key_lifetime_days:
            lines.append(
                self.env._(
                    "Keys stop working %(days)s days after they were made.",
                    days=policy.max_key_lifetime_days,
                )
            )
        if policy.allow_legacy_rpc:
            lines.append(
                self.env._("Also over the older XML-RPC and JSON-RPC endpoints.")
            )
        return lines
