import {onWillStart, useState} from "@odoo/owl";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";
import {KanbanRenderer} from "@web/views/kanban/kanban_renderer";
import {kanbanView} from "@web/views/kanban/kanban_view";

/**
 * The Overview: the endpoints' cards, under tiles counting what was refused
 * on the way in over the last 24 hours (incoming webhook calls, API calls
 * over their rate limit, API calls a policy denied), each opening the rows
 * it counts.
 */
export class IntegrationOverviewRenderer extends KanbanRenderer {
    static template = "integration_gateway.OverviewRenderer";

    setup() {
        super.setup();
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.tiles = useState({list: []});
        onWillStart(async () => {
            this.tiles.list = await this.orm.call(
                "integration.webhook.endpoint",
                "integration_overview_tiles",
                []
            );
        });
    }

    openTile(tile) {
        this.actionService.doAction(tile.action);
    }
}

registry.category("views").add("integration_overview_kanban", {
    ...kanbanView,
    Renderer: IntegrationOverviewRenderer,
});
