/**
 * Steps the scenario tours share on an automation rule's form.
 */

/**
 * Sets the rule's model: types ``typed`` in the Model field, then picks the
 * entry the dropdown shows as ``shown`` (that exact label when ``exact``,
 * else one containing it).
 */
function modelSteps(content, typed, shown, exact = false) {
    const entry = exact ? `:text(${shown})` : `:contains(${shown})`;
    return [
        {
            content,
            trigger: '.o_form_renderer .o_group div[name="model_id"] input',
            run: `edit ${typed}`,
        },
        {
            content: "Pick the model",
            trigger: `.dropdown-menu li a${entry}:not(:has(.fa-spin))`,
            run: "click",
        },
    ];
}

/** The rule is on contacts. */
export const ON_CONTACTS_MODEL = modelSteps("On contacts", "res.partner", "Contact");

/** The rule is on sales orders. */
export const ON_SALES_ORDERS_MODEL = modelSteps(
    "On sales orders",
    "Sales Order",
    "Sales Order",
    true
);
