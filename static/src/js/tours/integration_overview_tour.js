import {registry} from "@web/core/registry";
import {screenshotStep} from "./screenshot";

registry.category("web_tour.tours").add("integration_gateway_overview", {
    steps: () => [
        {
            content: "The failing endpoint shows its success rate",
            trigger:
                ".o_kanban_record:contains('Carrier tracking') div[name='success_rate']:contains('71')",
        },
        {
            content: "The disabled endpoint is there too",
            trigger: ".o_kanban_record:contains('Accounting export') .badge:contains('Disabled')",
        },
        {
            content: "Tiles count what was refused on the way in",
            trigger: ".o_integration_overview_tiles button[name='incoming_refused']",
        },
        screenshotStep(
            "overview",
            ".o_kanban_record:contains('Warehouse orders') div[name='latency']:contains('ms')",
            "Integrations > Overview: every endpoint's health over the last 24 hours"
        ),
        {
            content: "Open the deliveries of the carrier endpoint",
            trigger:
                ".o_kanban_record:contains('Carrier tracking') button[name='action_open_delivery_report']",
            run: "click",
        },
        screenshotStep(
            "deliveries_graph",
            ".o_graph_renderer canvas",
            "The endpoint's deliveries per day, stacked by state"
        ),
        {
            content: "Open the Technical menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Open all webhook deliveries",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.menu_integration_webhook_deliveries']",
            run: "click",
        },
        {
            content: "All deliveries are listed",
            trigger:
                ".o_breadcrumb:not(:contains('Overview')) .o_last_breadcrumb_item:contains('Webhook Deliveries')",
        },
        {
            content: "Switch to the pivot view",
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "Switch to the pivot view",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        screenshotStep(
            "deliveries_pivot",
            ".o_pivot table th:contains('Carrier tracking')",
            "Deliveries per endpoint and state"
        ),
        {
            content: "Open the Technical menu for the settings",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Open the Integrations settings",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.menu_integration_settings']",
            run: "click",
        },
        screenshotStep(
            "settings",
            "#integration_retention_days",
            "Settings: dispatchers, retention, the default policy, rate limits"
        ),
    ],
});
