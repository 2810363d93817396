import {registry} from "@web/core/registry";

/**
 * What administrators read after the fact: attempts as a list, a graph and a
 * pivot, an endpoint's failed deliveries replayed through the wizard, and
 * refused incoming calls as a pivot.
 */
registry.category("web_tour.tours").add("integration_gateway_history", {
    steps: () => [
        {
            content: "The attempts are listed",
            trigger: ".o_list_view .o_data_row td[name='status_code']:contains('500')",
        },
        {
            content: "Show them as a graph",
            trigger: "button.o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "Show them as a pivot",
            trigger: "button.o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot counts them",
            trigger: ".o_pivot table .o_pivot_cell_value",
        },
        {
            content: "Open the Technical menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Endpoints menu",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.menu_integration_webhook_endpoints']",
            run: "click",
        },
        {
            content: "Open the failing endpoint",
            trigger: ".o_data_row td[name='name']:contains('Tour history')",
            run: "click",
        },
        {
            content: "Replay its failed deliveries",
            trigger: ".o_form_view button[name='action_open_replay']",
            run: "click",
        },
        {
            content: "The wizard counts the dead delivery",
            trigger: ".modal div[name='delivery_count']:contains('1')",
        },
        {
            content: "Replay",
            trigger: ".modal button[name='action_replay']",
            run: "click",
        },
        {
            content: "The replay is confirmed",
            trigger: ".o_notification:contains('queued again')",
        },
        {
            content: "Open the Technical menu again",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Rejections menu",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.menu_integration_webhook_rejection']",
            run: "click",
        },
        {
            content: "The refused call is listed",
            trigger: ".o_data_row:contains('Signature refused')",
        },
        {
            content: "Show refusals as a pivot",
            trigger: "button.o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot counts them",
            trigger: ".o_pivot table .o_pivot_cell_value",
        },
    ],
});
