import {registry} from "@web/core/registry";
import {
    Many2OneField,
    buildM2OFieldDescription,
} from "@web/views/fields/many2one/many2one_field";

/**
 * The policy of an API key, which says what applies when the key has none
 * of its own ("Default policy: ...", "Full user rights ...") instead of an
 * empty cell: the text is the field's placeholder, shown read-only too
 * (use with ``options="{'placeholder_field': 'integration_policy_label'}"``).
 */
export class PolicyMany2OneField extends Many2OneField {
    static template = "integration_gateway.PolicyMany2OneField";
}

registry
    .category("fields")
    .add("integration_policy_many2one", buildM2OFieldDescription(PolicyMany2OneField));
