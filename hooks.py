def post_init_hook(env):
    """Queues the webhook actions that existed before the install and starts
    the configured number of webhook dispatchers."""
    env["ir.actions.server"]._link_existing_webhook_actions()
    env["integration.webhook.dispatcher"]._sync_crons()
