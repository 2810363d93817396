import {registry} from "@web/core/registry";
import {screenshotStep} from "./screenshot";

/**
 * A partner's contact on the portal: creates an endpoint subscribed to an
 * event type, sends a test event to the endpoint the administrator made
 * for them, opens the delivery and its attempt, retries a dead delivery,
 * rotates and reveals the signing secret.
 */
registry.category("web_tour.tours").add("integration_gateway_portal_endpoints", {
    steps: () => [
        {
            content: "Open the Integrations card of the portal",
            trigger: ".o_portal_index_card a[href='/my/integrations']",
            run: "click",
            expectUnloadPage: true,
        },
        screenshotStep(
            "portal_endpoints",
            ".o_integration_endpoint_row:contains('Northwind warehouse')",
            "The partner's endpoints, their health and their failed deliveries"
        ),
        {
            content: "New endpoint",
            trigger: ".o_integration_new",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Describe it",
            trigger: "#integration_name",
            run: "edit Orders to our ERP",
        },
        {
            content: "Its URL",
            trigger: "#integration_url",
            run: "edit https://hooks.northwind.example/odoo",
        },
        {
            content: "Subscribe it to new contacts",
            trigger: ".form-check:contains('partner.contact.created') input",
            run: "check",
        },
        {
            content: "Standard Webhooks payloads",
            trigger: "#integration_payload_format",
            run: "select standard",
        },
        {
            content: "Save",
            trigger: ".o_integration_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The endpoint is made",
            trigger: ".o_integration_message:contains('Endpoint created')",
        },
        {
            content: "Back to the endpoints",
            trigger: ".breadcrumb a[href='/my/integrations']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Open the endpoint the administrator made",
            trigger: ".o_integration_endpoint_row a:contains('Northwind warehouse')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "A test event of a type",
            trigger: "select[name='event_type_id']",
            run: "selectByLabel partner.contact.updated",
        },
        {
            content: "Send it",
            trigger: ".o_integration_test",
            run: "click",
            expectUnloadPage: true,
        },
        screenshotStep(
            "portal_delivery",
            ".o_integration_attempt_row .o_integration_status:contains('200')",
            "The test event: its attempt, the receiver's answer and the payload"
        ),
        {
            content: "Back to the endpoint",
            trigger: ".breadcrumb a:contains('Northwind warehouse')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Its deliveries",
            trigger: ".o_integration_deliveries",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Only the dead ones",
            trigger: "#integration_filter_state",
            run: "select dead",
        },
        {
            content: "Filter",
            trigger: ".o_integration_filter",
            run: "click",
            expectUnloadPage: true,
        },
        screenshotStep(
            "portal_deliveries",
            ".o_integration_delivery_row .o_integration_state[data-state='dead']",
            "Deliveries filtered by state, with Odoo's pager"
        ),
        {
            content: "Open the dead delivery",
            trigger: ".o_integration_delivery_row:has([data-state='dead']) a",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Every attempt failed",
            trigger: ".o_integration_attempt_row .o_integration_status:contains('503')",
        },
        {
            content: "Retry it now",
            trigger: ".o_integration_retry",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "It is queued again",
            trigger: ".o_integration_state[data-state='pending']",
        },
        {
            content: "Back to the endpoint",
            trigger: ".breadcrumb a:contains('Northwind warehouse')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Rotate the signing secret",
            trigger: ".o_integration_rotate",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The previous secret keeps signing for a while",
            trigger: ".o_integration_secret_card:contains('previous secret also signs')",
        },
        {
            content: "Confirm the password to see the new secret",
            trigger: ".o_integration_secret_card input[name='password']",
            run: "edit ig_portal_tour",
        },
        {
            content: "Reveal",
            trigger: ".o_integration_reveal",
            run: "click",
            expectUnloadPage: true,
        },
        screenshotStep(
            "portal_endpoint",
            ".o_integration_secret code:contains('whsec_')",
            "An endpoint on the portal: its secret, shown after the password"
        ),
    ],
});

registry.category("web_tour.tours").add("integration_gateway_portal_keys", {
    steps: () => [
        {
            content: "Open the Integrations card of the portal",
            trigger: ".o_portal_index_card a[href='/my/integrations']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The API keys",
            trigger: ".nav-link[href='/my/integrations/keys']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The policy in plain words",
            trigger: ".o_integration_policy_summary li:contains('Read-only')",
        },
        screenshotStep(
            "portal_api_keys",
            ".o_integration_usage_chart canvas.o_integration_chart_ready",
            "The partner's keys, their policies in plain words and 30 days of usage"
        ),
    ],
});
