import {registry} from "@web/core/registry";
import {screenshotStep} from "./screenshot";

registry.category("web_tour.tours").add("integration_gateway_retry", {
    steps: () => [
        {
            content: "The list opens on what needs a look: waiting and dead deliveries",
            trigger: ".o_searchview_facet:contains('Waiting'):contains('Dead')",
        },
        {
            content: "Dead deliveries listed: they can be replayed",
            trigger: ".o_control_panel button:contains('Replay failed since')",
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_input",
            run: "click",
        },
        {
            content: "Leave the dead ones out",
            trigger: ".o_filter_menu .o-dropdown-item:contains('Dead')",
            run: "click",
        },
        {
            content: "Nothing dead listed: nothing to replay, no Replay button",
            trigger:
                ".o_searchview_facet:contains('Waiting'):not(:contains('Dead'))",
        },
        {
            content: "The Replay button is gone",
            trigger: ".o_control_panel:not(:has(button:contains('Replay failed since')))",
        },
        {
            content: "Back to the dead ones",
            trigger: ".o_filter_menu .o-dropdown-item:contains('Dead')",
            run: "click",
        },
        {
            content: "Leave the waiting ones out",
            trigger: ".o_filter_menu .o-dropdown-item:contains('Waiting')",
            run: "click",
        },
        {
            content: "Close the filters",
            trigger: ".o_searchview_facet:not(:contains('Waiting')):contains('Dead')",
            run: "click",
        },
        screenshotStep(
            "deliveries_dead",
            ".o_list_view:not(:has(.o-dropdown--menu)) .o_data_row td[name='state']:contains('Dead')",
            "Webhook Deliveries filtered on Dead"
        ),
        {
            content: "Open the replay wizard",
            trigger: ".o_list_view button:contains('Replay failed since')",
            run: "click",
        },
        {
            content: "Pick the endpoint",
            trigger: ".modal div[name='endpoint_id'] input",
            run: "edit Carrier",
        },
        {
            content: "Choose it",
            trigger: ".modal .o-autocomplete--dropdown-item a:contains('Carrier')",
            run: "click",
        },
        {
            content: "The endpoint is chosen: its dead deliveries are counted",
            trigger: ".modal div[name='delivery_count']:contains('1')",
            async run() {
                // Lets the field's last search come back before leaving it.
                await new Promise((resolve) => setTimeout(resolve, 1000));
            },
        },
        {
            content: "Leave the field, closing its suggestions",
            trigger: ".modal .o_form_view p:contains('Dead deliveries of the endpoint')",
            run: "click",
        },
        screenshotStep(
            "replay_wizard",
            ".modal:not(:has(.o-autocomplete--dropdown-menu)) div[name='delivery_count']:contains('1')",
            "The replay wizard counts the endpoint's dead deliveries"
        ),
        {
            content: "Close it: this one is sent again from its form",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Open the dead delivery",
            trigger: "body:not(:has(.modal)) .o_data_row td[name='state']:contains('Dead')",
            run: "click",
        },
        screenshotStep(
            "retry_dead_delivery",
            "div[name='attempt_ids'] .o_data_row:eq(1) td[name='status_code']:contains('503')",
            "A dead delivery: every attempt failed, the last error is shown"
        ),
        {
            content: "Send it again",
            trigger: "button[name='action_requeue']",
            run: "click",
        },
        {
            content: "It waits for the next dispatcher run",
            trigger: ".o_statusbar_status button[aria-checked='true']:contains('Pending')",
        },
    ],
});
