{
    "name": "Integration Gateway",
    "summary": "Reliable outgoing webhooks, scoped and rate-limited API keys, "
    "validated incoming webhooks",
    "version": "19.0.1.0.0",
    "category": "Extra Tools",
    "website": "https://github.com/integration-gateway/integration_gateway",
    "author": "Integration Gateway contributors",
    "license": "LGPL-3",
    "depends": ["base_automation", "rpc"],
    "external_dependencies": {"python": ["jsonschema"]},
    "data": [
        "security/integration_gateway_groups.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/integration_webhook_endpoint_views.xml",
        "views/integration_webhook_replay_views.xml",
        "views/integration_webhook_delivery_views.xml",
        "views/integration_webhook_attempt_views.xml",
        "views/ir_actions_server_views.xml",
        "views/res_config_settings_views.xml",
        "views/integration_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "integration_gateway/static/src/js/tours/*.js",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
