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
        "data/rate_limit_data.xml",
        "security/integration_api_policy_security.xml",
        "views/integration_api_policy_views.xml",
        "views/res_users_apikeys_views.xml",
        "views/integration_api_key_wizard_views.xml",
        "views/integration_api_usage_views.xml",
        "views/res_config_settings_views.xml",
        "views/integration_webhook_validator_views.xml",
        "views/integration_webhook_rejection_views.xml",
        "views/base_automation_views.xml",
        "views/integration_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "integration_gateway/static/src/js/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}
