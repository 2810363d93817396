"""Settings of the addon kept as system parameters: their names and their
defaults, in one place (the settings screen and the code reading them use
these)."""

DISPATCHER_COUNT_PARAM = "integration_gateway.dispatcher_count"
DISPATCHER_COUNT = 2  # dispatcher crons, by default
DEFAULT_POLICY_PARAM = "integration_gateway.default_policy_id"  # record id
