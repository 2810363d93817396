import {registry} from "@web/core/registry";
import {ON_CONTACTS_MODEL, ON_SALES_ORDERS_MODEL} from "./automation_steps";
import {stepUtils} from "@web_tour/tour_utils";
import {screenshotStep} from "./screenshot";
import {receiverUrl} from "./tour_receiver";

/**
 * The warehouse scenario: an endpoint, a test event and its attempt, then the
 * automation whose queued webhook notifies the warehouse: on sales orders
 * when Sales is installed (make screenshots, whose pictures the README
 * shows), on contacts otherwise (``integration_gateway_warehouse_contacts``,
 * run without taking pictures: its screenshot steps only check what is on
 * screen).
 */

// The automation's model and trigger, then the fields the webhook sends.
const ON_SALES_ORDERS = [
    ...ON_SALES_ORDERS_MODEL,
    {
        content: "Choose the trigger",
        trigger: ".o_form_renderer #trigger_0",
        run: "click",
    },
    {
        content: "When the state of an order is set",
        trigger: ".o_select_menu_item:contains(State is set to)",
        run: "click",
    },
    {
        content: "To Sales Order: the order is confirmed",
        trigger: '.o_form_renderer div[name="trg_selection_field_id"] input',
        run: "edit Sales Order",
    },
    {
        content: "Pick the state",
        trigger: ".dropdown-menu li a:text(Sales Order):not(:has(.fa-spin))",
        run: "click",
    },
];

const ON_CONTACTS = [
    ...ON_CONTACTS_MODEL,
    {
        content: "Choose the trigger",
        trigger: ".o_form_renderer #trigger_0",
        run: "click",
    },
    {
        content: "When a contact is created or edited",
        trigger: ".o_select_menu_item:contains(On create and edit)",
        run: "click",
    },
];

// What the warehouse needs of an order.
const ORDER_FIELDS = ["Order Reference", "Customer", "Order Lines", "Delivery Address"];

function fieldSteps(labels) {
    return labels.flatMap((label) => [
        {
            content: `Send the ${label}`,
            trigger: ".modal .o_field_widget[name='webhook_field_ids'] input",
            run: `edit ${label}`,
        },
        {
            content: `Pick ${label}`,
            trigger: `.dropdown-menu li a:text(${label}):not(:has(.fa-spin))`,
            run: "click",
        },
        {
            content: `${label} is sent`,
            trigger: `.modal .o_field_widget[name='webhook_field_ids'] .o_tag:contains(${label})`,
        },
    ]);
}

function warehouseSteps({onSales}) {
    return [
        {
            content: "Add a webhook endpoint",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it after the receiver",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Warehouse",
        },
        {
            content: "The warehouse's webhook URL",
            trigger: ".o_field_widget[name='url'] input",
            async run(helpers) {
                await helpers.edit(await receiverUrl("/warehouse/orders"));
            },
        },
        {
            content: "The receiver of this test runs on this machine",
            trigger: ".o_field_widget[name='allow_private_network'] input",
            run: "click",
        },
        ...stepUtils.saveForm(),
        {
            content: "Send a test event",
            trigger: "button[name='action_send_test_event']",
            run: "click",
        },
        screenshotStep(
            "warehouse_endpoint",
            ".o_notification:contains('Test event delivered: HTTP 200')",
            "The endpoint, its signing secret and the answer to the test event"
        ),
        {
            content: "Open the endpoint's deliveries",
            trigger: ".o_form_view button[name='action_open_deliveries']",
            run: "click",
        },
        {
            content: "Open the test event",
            trigger: ".o_data_row td[name='state']:contains('Delivered')",
            run: "click",
        },
        screenshotStep(
            "warehouse_attempt",
            "div[name='attempt_ids'] td[name='status_code']:contains('200')",
            "The test event and its attempt: when, how long, the answer"
        ),
        {
            content: "Open the Technical menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='base.menu_custom']",
            run: "click",
        },
        {
            content: "Open the automation rules",
            trigger:
                ".o-dropdown--menu .dropdown-item[data-menu-xmlid='base_automation.menu_base_automation_form']",
            run: "click",
        },
        {
            content: "Create a rule",
            trigger: ".o_control_panel button.o-kanban-button-new",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_renderer .oe_title .o_input",
            run: "edit Notify the warehouse",
        },
        ...(onSales ? ON_SALES_ORDERS : ON_CONTACTS),
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
            content: "The warehouse's URL, as on the endpoint",
            trigger: ".modal .o_field_widget[name='webhook_url'] input",
            async run(helpers) {
                await helpers.edit(await receiverUrl("/warehouse/orders"));
            },
        },
        ...(onSales ? fieldSteps(ORDER_FIELDS) : []),
        screenshotStep(
            "warehouse_action",
            ".modal .o_field_widget[name='webhook_delivery_mode'] input[data-value='queued']:checked",
            "The webhook action, queued: signed, retried, logged"
        ),
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
    ];
}

registry.category("web_tour.tours").add("integration_gateway_warehouse", {
    steps: () => warehouseSteps({onSales: true}),
});

registry.category("web_tour.tours").add("integration_gateway_warehouse_contacts", {
    steps: () => warehouseSteps({onSales: false}),
});
