import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("integration_gateway_api_policy", {
    steps: () => [
        {
            content: "Create a policy",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Tour partners",
        },
        {
            content: "Make it read-only",
            trigger: ".o_field_widget[name='read_only'] input",
            run: "click",
        },
        {
            content: "Add a rule",
            trigger:
                "div[name='rule_ids'] .o_field_x2many_list_row_add a:contains('Add a line')",
            run: "click",
        },
        {
            content: "Rule on partners",
            trigger:
                "div[name='rule_ids'] .o_selected_row .o_field_widget[name='model_pattern'] input",
            run: "edit res.partner*",
        },
        {
            content: "Any read method",
            trigger:
                "div[name='rule_ids'] .o_selected_row .o_field_widget[name='method_pattern'] input",
            run: "edit read, search_*",
        },
        ...stepUtils.saveForm(),
        {
            content: "The rule is saved",
            trigger: "div[name='rule_ids'] td[name='model_pattern']:contains('res.partner*')",
        },
        {
            content: "Open the keys under the policy",
            trigger: ".o_notebook a[name='keys']",
            run: "click",
        },
        {
            content: "They are listed there",
            trigger: "div[name='key_ids'] .o_list_renderer",
        },
    ],
});
