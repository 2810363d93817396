import {loadBundle} from "@web/core/assets";
import {registry} from "@web/core/registry";
import {Interaction} from "@web/public/interaction";

// The colours of Odoo's graph views: calls, refused (429), denied (403).
const COLORS = {calls: "#1f77b4", rate_limited: "#ff7f0e", denied: "#d62728"};

/**
 * The 30-day usage chart of the portal's API keys page, drawn with the
 * Chart.js Odoo ships (web.chartjs_lib) from the data the page carries.
 */
export class IntegrationUsageChart extends Interaction {
    static selector = ".o_integration_usage_chart canvas";

    async willStart() {
        await loadBundle("web.chartjs_lib");
    }

    start() {
        const usage = JSON.parse(this.el.dataset.usage);
        const datasets = ["calls", "rate_limited", "denied"].map((name) => ({
            label: usage.names[name],
            data: usage[name],
            backgroundColor: COLORS[name],
            borderColor: COLORS[name],
        }));
        this.chart = new window.Chart(this.el, {
            type: "bar",
            data: {labels: usage.labels, datasets},
            options: {
                maintainAspectRatio: false,
                animation: false,
                scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
            },
        });
        this.el.classList.add("o_integration_chart_ready");
        this.registerCleanup(() => this.chart.destroy());
    }
}

registry
    .category("public.interactions")
    .add("integration_gateway.usage_chart", IntegrationUsageChart);
