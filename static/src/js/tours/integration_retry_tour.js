import {registry} from "@web/core/registry";
import {screenshotStep} from "./screenshot";

registry.category("web_tour.tours").add("integration_gateway_retry", {
    steps: () => [
        {
            content: "Show only dead deliveries",
            trigger: ".o_searchview_input",
            run: "click",
        },
        {
            content: "Filter Dead",
            trigger: ".o_filter_menu .o-dropdown-item:contains('Dead')",
            run: "click",
        },
        {
            content: "Open the dead delivery",
            trigger: ".o_data_row td[name='state']:contains('Dead')",
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
