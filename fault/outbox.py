"""What the outgoing-webhook fault tests share: a queued webhook on partner
creation pointing at a receiver, events made in one transaction, and the
check that every event arrived with its own webhook-id."""

import json

# The dispatcher's lease, shortened so that the deliveries a killed server
# left in sending go out again within seconds, not minutes; the endpoint's
# timeout and the margin of 10 s fit in it with room for a batch.
LEASE = 20  # seconds
TIMEOUT = 2  # seconds, the endpoint's

SETUP = """
url, ref_prefix, lease, timeout, schedule = args
env["ir.config_parameter"].set_param("integration_gateway.dispatch_lease", lease)
model = env["ir.model"]._get("res.partner")
endpoint = env["integration.webhook.endpoint"].create({
    "name": "Fault receiver " + ref_prefix, "url": url,
    "allow_private_network": True, "timeout": timeout,
    **({"retry_schedule": schedule} if schedule else {}),
})
automation = env["base.automation"].create({
    "name": "Fault webhook " + ref_prefix, "model_id": model.id,
    "trigger": "on_create",
    "filter_domain": repr([("ref", "=like", ref_prefix + "-%")]),
})
action = env["ir.actions.server"].create({
    "name": "Notify " + ref_prefix, "model_id": model.id,
    "base_automation_id": automation.id, "usage": "base_automation",
    "state": "webhook", "webhook_url": url, "webhook_delivery_mode": "queued",
    "webhook_field_ids": [(6, 0, env["ir.model.fields"].search(
        [("model", "=", "res.partner"), ("name", "in", ["name", "ref"])]).ids)],
})
automation.action_server_ids = [(6, 0, action.ids)]
assert action.webhook_endpoint_id == endpoint, "the action uses the endpoint"
result = endpoint.id
"""

# Creates partners in one transaction: one queued delivery each, written
# with them and woken at commit. Returns {partner id: webhook-id}.
EVENTS = """
ref_prefix, count, endpoint_id = args
partners = env["res.partner"].create([
    {"name": f"Event {n}", "ref": f"{ref_prefix}-{n}"} for n in range(count)
])
deliveries = env["integration.webhook.delivery"].search(
    [("endpoint_id", "=", endpoint_id), ("res_id", "in", partners.ids)])
assert len(deliveries) == count, len(deliveries)
result = {str(d.res_id): d.uuid for d in deliveries}
"""

STATES = """
rows = env["integration.webhook.delivery"]._read_group(
    [("endpoint_id", "=", args[0])], ["state"], ["__count"])
result = dict(rows)
"""


def check_every_event_arrived_once_or_more(hits, events):
    """Every event (``{partner id: webhook-id}``) reached the receiver with
    its own original webhook-id, and nothing else did. Returns how many
    events were received more than once."""
    by_id = {}
    for hit in hits:
        body = json.loads(hit.body)
        assert events.get(str(body["_id"])) == hit.webhook_id, (
            f"partner {body['_id']} arrived with webhook-id {hit.webhook_id}, "
            f"queued as {events.get(str(body['_id']))}"
        )
        by_id.setdefault(hit.webhook_id, 0)
        by_id[hit.webhook_id] += 1
    missing = set(events.values()) - set(by_id)
    assert not missing, f"{len(missing)} events never arrived"
    assert len(by_id) == len(events)
    return sum(1 for count in by_id.values() if count > 1)
