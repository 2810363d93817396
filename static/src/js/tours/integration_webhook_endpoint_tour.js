import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("integration_gateway_webhook_endpoint", {
    steps: () => [
        {
            content: "Open the endpoint the test made",
            trigger: ".o_data_row td[name='name']:contains('Tour receiver')",
            run: "click",
        },
        {
            content: "Its secret is masked",
            trigger: ".o_field_widget[name='secret']:not(:contains('whsec_'))",
        },
        {
            content: "The administrator reveals it",
            trigger: "button[name='action_reveal_secret']",
            run: "click",
        },
        {
            content: "It is shown until closed",
            trigger: ".o_notification:contains('whsec_')",
        },
        {
            content: "Give the receiver less time",
            trigger: ".o_field_widget[name='timeout'] input",
            run: "edit 5",
        },
        ...stepUtils.saveForm(),
        {
            content: "Send a test event",
            trigger: "button[name='action_send_test_event']",
            run: "click",
        },
        {
            content: "The receiver's answer is shown",
            trigger: ".o_notification:contains('Test event delivered: HTTP 200')",
        },
        {
            content: "Open its deliveries",
            trigger: "button[name='action_open_deliveries']",
            run: "click",
        },
        {
            content: "The test event is listed, delivered",
            trigger: ".o_data_row td[name='state']:contains('Delivered')",
        },
    ],
});
