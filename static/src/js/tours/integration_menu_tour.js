import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("integration_gateway_open_menu", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Settings",
            trigger: ".o_app[data-menu-xmlid='base.menu_administration']",
            run: "click",
        },
        {
            content: "Open the Technical menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Open Integrations > Settings",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.menu_integration_settings']",
            run: "click",
        },
        {
            content: "The Integrations settings are shown",
            trigger: ".app_settings_block[data-key='integration_gateway']",
        },
    ],
});
