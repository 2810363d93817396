import {registry} from "@web/core/registry";
import {ON_CONTACTS_MODEL, ON_SALES_ORDERS_MODEL} from "./automation_steps";
import {stepUtils} from "@web_tour/tour_utils";
import {screenshotStep} from "./screenshot";

// The shop's signing secret in the scenario's test (tests/ui/test_tour_scenarios.py).
const SHOP_SECRET = "whsec_c2hvcC1zaWduaW5nLXNlY3JldC1mb3ItdGhlLXRvdXI=";
const ORDER_SCHEMA = `{
  "type": "object",
  "required": ["ref", "customer", "lines"],
  "properties": {
    "ref": {"type": "string"},
    "customer": {"type": "object", "required": ["name", "email"]},
    "lines": {"type": "array", "minItems": 1}
  }
}`;
// The automation's target record: the order (on sales orders, as in the
// README), or its customer (on contacts, without Sales).
const ORDER_GETTER =
    "model.search([('client_order_ref', '=', payload['ref'])], limit=1) or model.create(" +
    "{'partner_id': (model.env['res.partner'].search([('email', '=', " +
    "payload['customer']['email'])], limit=1) or model.env['res.partner'].create(" +
    "{'name': payload['customer']['name'], 'email': payload['customer']['email']})).id, " +
    "'client_order_ref': payload['ref'], 'order_line': [(0, 0, {'product_id': " +
    "model.env['product.product'].search([('default_code', '=', line['sku'])], " +
    "limit=1).id, 'product_uom_qty': line['qty']}) for line in payload['lines']]})";
const CUSTOMER_GETTER =
    "model.search([('ref', '=', payload['ref'])], limit=1) or model.create(" +
    "{'name': payload['customer']['name'], 'email': payload['customer']['email'], " +
    "'ref': payload['ref']})";

/**
 * The web shop scenario: a validator for the shop's signed orders, then the
 * automation it guards: on sales orders when Sales is installed (make
 * screenshots, whose pictures the README shows), on contacts otherwise
 * (``integration_gateway_shop_contacts``, run without taking pictures).
 */
function shopSteps({onSales}) {
    const recordGetter = onSales ? ORDER_GETTER : CUSTOMER_GETTER;
    return [
        {
            content: "Create a validator",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it after the sender",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Web shop orders",
        },
        {
            content: "The shop signs per Standard Webhooks (the default): its secret",
            trigger: ".o_field_widget[name='secret'] input",
            run: `edit ${SHOP_SECRET}`,
        },
        {
            content: "At most 60 calls a minute from one address",
            trigger: ".o_field_widget[name='rate_limit'] input",
            run: "edit 60/minute",
        },
        {
            content: "What an order must look like",
            trigger: "div[name='json_schema'] .ace_editor",
            run() {
                window.ace.edit(this.anchor).setValue(ORDER_SCHEMA, 1);
            },
        },
        ...stepUtils.saveForm(),
        screenshotStep(
            "shop_validator",
            ".o_form_saved div[name='json_schema'] .ace_editor:contains('minItems')",
            "The validator: Standard Webhooks signature, replays, schema, limits"
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
            run: "edit Web shop order",
        },
        ...(onSales ? ON_SALES_ORDERS_MODEL : ON_CONTACTS_MODEL),
        {
            content: "Choose the trigger",
            trigger: ".o_form_renderer #trigger_0",
            run: "click",
        },
        {
            content: "On webhook",
            trigger: ".o_select_menu_item:contains(On webhook)",
            run: "click",
        },
        {
            content: "Check every call with the validator",
            trigger: ".o_field_widget[name='webhook_validator_id'] input",
            run: "edit Web shop",
        },
        {
            content: "Pick it",
            trigger: ".dropdown-menu li a:contains('Web shop orders'):not(:has(.fa-spin))",
            run: "click",
        },
        {
            content: "Find or make the record of the order",
            trigger: ".o_field_widget[name='record_getter'] input",
            async run(helpers) {
                // Not as "edit ...": the step parser drops a final parenthesis.
                await helpers.edit(recordGetter);
            },
        },
        {
            content: "Leave the field",
            trigger: ".o_notebook .nav-link:contains('Notes')",
            run: "click",
        },
        ...stepUtils.saveForm(),
        screenshotStep(
            "shop_automation",
            ".o_form_saved .o_field_widget[name='url']:contains('/web/hook/')",
            "The automation: its secret URL, its validator, its target record"
        ),
    ];
}

registry.category("web_tour.tours").add("integration_gateway_shop", {
    steps: () => shopSteps({onSales: true}),
});

registry.category("web_tour.tours").add("integration_gateway_shop_contacts", {
    steps: () => shopSteps({onSales: false}),
});

registry.category("web_tour.tours").add("integration_gateway_rejections", {
    steps: () => [
        {
            content: "Open the call refused for its signature",
            trigger: ".o_data_row td[name='reason']:contains('Signature refused')",
            run: "click",
        },
        screenshotStep(
            "rejection_form",
            ".o_form_view div[name='message']:contains('signature')",
            "A refused call: why, from where, its headers and body"
        ),
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb a:contains('Incoming Webhook Rejections')",
            run: "click",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        screenshotStep(
            "rejections_graph",
            ".o_graph_renderer canvas",
            "Refused calls per day and reason"
        ),
    ],
});
