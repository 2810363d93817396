import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_utils";
import {screenshotStep} from "./screenshot";

registry.category("web_tour.tours").add("integration_gateway_bi_key", {
    steps: () => [
        {
            content: "Create a policy",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it after the integration",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit BI dashboard",
        },
        {
            content: "Reading only",
            trigger: ".o_field_widget[name='read_only'] input",
            run: "click",
        },
        {
            content: "At most a call a second on average, 5000 a day",
            trigger: ".o_field_widget[name='rate_limit'] input",
            run: "edit 60/minute; 5000/day",
        },
        {
            content: "Add a rule",
            trigger:
                "div[name='rule_ids'] .o_field_x2many_list_row_add a:contains('Add a line')",
            run: "click",
        },
        {
            content: "The models the dashboard reads",
            trigger:
                "div[name='rule_ids'] .o_selected_row .o_field_widget[name='model_pattern'] input",
            run: "edit res.partner, sale.order, sale.order.line, product.*",
        },
        {
            content: "Any method: read-only keeps it to reading",
            trigger:
                "div[name='rule_ids'] .o_selected_row .o_field_widget[name='method_pattern'] input",
            run: "edit *",
        },
        ...stepUtils.saveForm(),
        screenshotStep(
            "bi_policy",
            "div[name='rule_ids'] td[name='model_pattern']:contains('product.*')",
            "A read-only, rate-limited policy for the BI dashboard"
        ),
        {
            content: "Issue a key under the policy",
            trigger: "button[name='action_issue_key']",
            run: "click",
        },
        {
            content: "For the dashboard's user",
            trigger: ".modal .o_field_widget[name='user_id'] input",
            run: "edit BI Dashboard",
        },
        {
            content: "Pick the user",
            trigger: ".dropdown-menu li a:contains('BI Dashboard'):not(:has(.fa-spin))",
            run: "click",
        },
        {
            content: "Describe the key",
            trigger: ".modal .o_field_widget[name='name'] input",
            run: "edit Sales dashboard",
        },
        {
            content: "Issue it",
            trigger: ".modal button[name='action_issue_key']",
            run: "click",
        },
        {
            content: "Confirm the administrator's password",
            trigger: ".modal [name=password] input",
            run: "edit admin",
        },
        {
            content: "Confirm",
            trigger: ".modal button:contains(Confirm Password)",
            run: "click",
        },
        {
            content: "The dialog says for whom the key is",
            trigger: ".modal h3:contains('API key for'):contains('BI Dashboard')",
        },
        {
            content: "and what it may do, in plain words",
            trigger:
                ".modal .o_integration_policy_summary:contains('Read-only: only methods that read.'):contains('At most 60/minute; 5000/day calls.')",
        },
        {
            content: "until when",
            trigger: ".modal .o_field_widget[name='expiration_date']:not(:empty)",
        },
        {
            content: "and that it is shown once",
            trigger: ".modal .alert-warning:contains('Shown once')",
        },
        screenshotStep(
            "bi_key_issued",
            ".modal .o_integration_issued_key .o_clipboard_button",
            "The key, shown once, with a copy button"
        ),
        {
            content: "Done",
            trigger: ".modal button:contains(Done)",
            run: "click",
        },
        {
            content: "The key is under the policy",
            trigger: "body:not(:has(.modal))",
        },
    ],
});

registry.category("web_tour.tours").add("integration_gateway_mobile_key", {
    steps: () => [
        {
            content: "The key the mobile app's user made has the default policy",
            trigger:
                ".o_data_row:contains('Mobile App') td[name='integration_policy_id'] .o_integration_policy_applies:contains('Default policy: Mobile app')",
        },
        screenshotStep(
            "mobile_api_keys",
            ".o_data_row:contains('Sales dashboard') td[name='integration_policy_id']:contains('BI dashboard')",
            "Every API key with the policy that applies, expiry and last use"
        ),
    ],
});

registry.category("web_tour.tours").add("integration_gateway_api_usage", {
    steps: () => [
        {
            content: "Switch to the pivot view",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "Expand the keys",
            trigger: ".o_pivot th:contains('Sales dashboard')",
        },
        screenshotStep(
            "api_usage_pivot",
            ".o_pivot th:contains('Mobile app')",
            "Calls, 429s and denials per key and day"
        ),
    ],
});

registry.category("web_tour.tours").add("integration_gateway_user_keys", {
    steps: () => [
        {
            content: "The user's keys, on the user's form",
            trigger: ".o_notebook .nav-link:contains('API Keys')",
            run: "click",
        },
        {
            content: "The key the user has, under no policy of its own: what applies is said",
            trigger:
                "div[name='api_key_ids'] .o_data_row:contains('Old sync') td[name='integration_policy_id'] .o_integration_policy_applies:contains('Default policy: Tour default')",
        },
        {
            content: "Issue a key for this user",
            trigger: "button:contains('Issue API Key')",
            run: "click",
        },
        {
            content: "The user is already chosen",
            trigger: ".modal .o_field_widget[name='user_id'] input:value(Tour Integration)",
        },
        {
            content: "Describe the key",
            trigger: ".modal .o_field_widget[name='name'] input",
            run: "edit Warehouse sync",
        },
        {
            content: "Under the warehouse policy",
            trigger: ".modal .o_field_widget[name='policy_id'] input",
            run: "edit Tour warehouse",
        },
        {
            content: "Pick the policy",
            trigger: ".dropdown-menu li a:contains('Tour warehouse'):not(:has(.fa-spin))",
            run: "click",
        },
        {
            content: "Issue it",
            trigger: ".modal button[name='action_issue_key']",
            run: "click",
        },
        {
            content: "Confirm the administrator's password",
            trigger: ".modal [name=password] input",
            run: "edit admin",
        },
        {
            content: "Confirm",
            trigger: ".modal button:contains(Confirm Password)",
            run: "click",
        },
        {
            content: "The key is shown with what it may do",
            trigger:
                ".modal .o_integration_policy_summary:contains('Allows read, search_read on stock.*.')",
        },
        {
            content: "Done",
            trigger: ".modal button:contains(Done)",
            run: "click",
        },
        {
            content: "The new key is listed on the user with its policy",
            trigger:
                "div[name='api_key_ids'] .o_data_row:contains('Warehouse sync') td[name='integration_policy_id']:contains('Tour warehouse')",
        },
        {
            content: "Revoke the old key",
            trigger: "div[name='api_key_ids'] .o_data_row:contains('Old sync') button[name='remove']",
            run: "click",
        },
        {
            content: "Revoking asks first (the password was confirmed a moment ago)",
            trigger: ".modal:contains('Revoke this API key?') button:contains('Ok')",
            run: "click",
        },
        {
            content: "The old key is gone, the new one stays",
            trigger:
                "div[name='api_key_ids']:not(:has(.o_data_row:contains('Old sync'))):has(.o_data_row:contains('Warehouse sync'))",
        },
    ],
});
