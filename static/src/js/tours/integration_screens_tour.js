import {registry} from "@web/core/registry";

/**
 * The daily screens do what their buttons say: a record's deliveries from
 * its Actions menu, smart buttons opening what they count, the Deliveries
 * menu opening on what needs a look, deliveries found by their record,
 * buttons shown only when they can work, list actions that skip the rows
 * they cannot act on, and no Delete on deliveries.
 */
const onlyRows = (count) =>
    `.o_list_view:not(:has(.o_data_row:eq(${count}))) .o_data_row:eq(${count - 1})`;

function openTechnicalMenu(xmlid, content) {
    return [
        {
            content: "Open the Technical menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content,
            trigger: `.o-dropdown--menu .dropdown-item[data-menu-xmlid='integration_gateway.${xmlid}']`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("integration_gateway_screens", {
    steps: () => [
        {
            content: "Open the disabled endpoint",
            trigger: ".o_data_row td[name='name']:contains('Tour screens')",
            run: "click",
        },
        {
            content: "Health is a badge, Enable the primary button",
            trigger:
                ".o_form_view:not(:has(.o_statusbar_status)):has(div[name='health'] .badge:contains('Disabled')) .o_statusbar_buttons button.btn-primary[name='action_enable']",
        },
        {
            content: "Replay failed is offered: two deliveries are dead",
            trigger: ".o_statusbar_buttons button[name='action_open_replay']",
        },
        {
            content: "Open the dead ones",
            trigger: "button[name='action_open_dead']:contains('2')",
            run: "click",
        },
        {
            content: "Dead 2 opens the deliveries filtered on Dead",
            trigger: ".o_searchview_facet:contains('Dead'):not(:contains('Waiting'))",
        },
        {
            content: "the two dead deliveries",
            trigger: onlyRows(2),
        },
        {
            content: "None of them is anything but dead",
            trigger: ".o_list_view:not(:has(.o_data_row td[name='state']:not(:contains('Dead'))))",
        },
        ...openTechnicalMenu("menu_integration_webhook_deliveries", "Deliveries"),
        {
            content: "The menu opens on waiting and dead deliveries",
            trigger: ".o_searchview_facet:contains('Waiting'):contains('Dead')",
        },
        {
            content: "Search by the customer's name",
            trigger: ".o_searchview_input",
            run: "edit Screens Customer",
        },
        {
            content: "as the record of the deliveries",
            trigger: ".o_searchview_autocomplete .o-dropdown-item:contains('Record')",
            run: "click",
        },
        {
            content: "Filtered on the record",
            trigger: ".o_searchview_facet:contains('Screens Customer')",
        },
        {
            content: "The customer's three deliveries",
            trigger: onlyRows(3),
        },
        {
            content: "Open the one whose dispatcher died while sending it",
            trigger: ".o_data_row td[name='state']:contains('Sending')",
            run: "click",
        },
        {
            content: "Its lease ran out: it can be cancelled",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_cancel']",
            run: "click",
        },
        {
            content: "Cancelled",
            trigger: ".o_statusbar_status button[aria-checked='true']:contains('Cancelled')",
        },
        ...openTechnicalMenu("menu_integration_webhook_endpoints", "Endpoints"),
        {
            content: "Open the endpoint again",
            trigger: ".o_data_row td[name='name']:contains('Tour screens')",
            run: "click",
        },
        {
            content: "All its deliveries",
            trigger: "button[name='action_open_deliveries']",
            run: "click",
        },
        {
            content: "Five deliveries",
            trigger: onlyRows(5),
        },
        {
            content: "Select them all",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Deliveries cannot be deleted",
            trigger: ".o-dropdown--menu:contains('Export'):not(:contains('Delete'))",
        },
        {
            content: "Close the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Cancel the selection",
            trigger: "button[name='action_list_cancel']",
            run: "click",
        },
        {
            content: "Cancelled what could be, said what was skipped",
            trigger: ".o_notification:contains('3 cancelled'):contains('2 skipped')",
        },
        {
            content: "Open a delivery of the customer",
            trigger:
                ".o_list_view:not(:has(.o_data_row_selected)) .o_data_row td[name='record_name']:contains('Screens Customer')",
            run: "click",
        },
        {
            content: "Open the record it is about",
            trigger: ".o_form_view button[name='action_open_record']",
            run: "click",
        },
        {
            content: "Open the customer's Actions menu",
            trigger: ".o_form_view .o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Its webhook deliveries are one click away",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Webhook Deliveries')",
            run: "click",
        },
        {
            content: "The customer's three deliveries, and only those",
            trigger: onlyRows(3),
        },
    ],
});
