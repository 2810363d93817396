import {registry} from "@web/core/registry";
import {ON_CONTACTS_MODEL} from "./automation_steps";
import {stepUtils} from "@web_tour/tour_utils";
import {receiverUrl} from "./tour_receiver";

registry.category("web_tour.tours").add("integration_gateway_event_type_from_automation", {
    steps: () => [
        {
            content: "Create a rule",
            trigger: ".o_control_panel button.o-kanban-button-new, .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_renderer .oe_title .o_input",
            run: "edit New contacts to the carrier",
        },
        ...ON_CONTACTS_MODEL,
        {
            content: "Choose the trigger",
            trigger: ".o_form_renderer #trigger_0",
            run: "click",
        },
        {
            content: "When a contact is created",
            trigger: ".o_select_menu_item:contains(On create):not(:contains(edit))",
            run: "click",
        },
        {
            content: "Add an action",
            trigger: '.o_form_renderer div[name="action_server_ids"] button',
            run: "click",
        },
        {
            content: "Send Webhook Notification",
            trigger: ".modal .o_form_renderer [name='state'] span[value*='webhook']",
            run: "click",
        },
        {
            content: "The carrier's URL",
            trigger: ".modal .o_field_widget[name='webhook_url'] input",
            async run(helpers) {
                await helpers.edit(await receiverUrl("/carrier"));
            },
        },
        {
            content: "Queued, so it gets an event type when saved",
            trigger:
                ".modal .o_field_widget[name='webhook_delivery_mode'] input[data-value='queued']:checked",
        },
        {
            content: "Save the action",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The action is on the rule",
            trigger: "body:not(:has(.modal))",
        },
        ...stepUtils.saveForm(),
    ],
});

registry.category("web_tour.tours").add("integration_gateway_event_subscription", {
    steps: () => [
        {
            content: "Open the endpoint's subscriptions",
            trigger: ".o_notebook_headers .nav-link:contains(Subscriptions)",
            run: "click",
        },
        {
            content: "Subscribe to an event type",
            trigger: "div[name='subscription_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "The event type the automation made",
            trigger: ".modal .o_field_widget[name='event_type_id'] input",
            run: "edit res.partner.registered",
        },
        {
            content: "Pick it",
            trigger: ".dropdown-menu li a:contains(res.partner.registered):not(:has(.fa-spin))",
            run: "click",
        },
        {
            content: "Only companies reach the carrier",
            trigger: ".modal .o_domain_selector_debug_container textarea",
            run: "edit [(\"is_company\", \"=\", True)]",
        },
        {
            content: "Keep the subscription",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The subscription is listed",
            trigger:
                "body:not(:has(.modal)) div[name='subscription_ids'] td[name='event_type_id']:contains(res.partner.registered)",
        },
        ...stepUtils.saveForm(),
        {
            content: "Send a test event of the type",
            trigger: "button[name='action_open_test_event']",
            run: "click",
        },
        {
            content: "It shows what the carrier will receive: a real contact",
            trigger: ".modal div[name='payload']:contains(res.partner)",
        },
        {
            content: "Send it",
            trigger: ".modal button[name='action_send']",
            run: "click",
        },
        {
            content: "The carrier took it",
            trigger: ".o_notification:contains('Test event delivered: HTTP 200')",
        },
        {
            content: "Open the endpoint's deliveries",
            trigger: ".o_form_view button[name='action_open_deliveries']",
            run: "click",
        },
        {
            content: "The test event is listed with its event type",
            trigger: ".o_data_row td[name='event_type_id']:contains(res.partner.registered)",
        },
        {
            content: "Open it",
            trigger: ".o_data_row td[name='state']:contains('Delivered')",
            run: "click",
        },
        {
            content: "Its attempt: delivered",
            trigger: "div[name='attempt_ids'] td[name='status_code']:contains('200')",
        },
    ],
});

registry.category("web_tour.tours").add("integration_gateway_event_type_form", {
    steps: () => [
        {
            content: "The event type the automation made",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit res.partner.registered",
        },
        {
            content: "Describe it for the receivers' developers",
            trigger: ".o_field_widget[name='description'] textarea",
            run: "edit A contact was created.",
        },
        ...stepUtils.saveForm(),
        {
            content: "Its schema, from the fields' metadata",
            trigger: ".o_notebook_headers .nav-link:contains(Schema)",
            run: "click",
        },
        {
            content: "The schema names the event and its model",
            trigger: "div[name='schema']:contains(res.partner.registered)",
        },
        {
            content: "An example, from a real contact",
            trigger: ".o_notebook_headers .nav-link:contains(Example)",
            run: "click",
        },
        {
            content: "The example carries the record's id",
            trigger: "div[name='example_payload']:contains(_id)",
        },
    ],
});
