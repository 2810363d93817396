import {rpc} from "@web/core/network/rpc";

/**
 * The address of the test receiver the scenario tours post to, which the
 * test running them keeps in a system parameter, followed by ``path``.
 */
export async function receiverUrl(path) {
    const base = await rpc("/web/dataset/call_kw/ir.config_parameter/get_param", {
        model: "ir.config_parameter",
        method: "get_param",
        args: ["integration_gateway.tour_receiver_url"],
        kwargs: {},
    });
    return `${base}${path}`;
}
