// The warehouse's side of Odoo's queued webhooks with Node.js: checks that
// each event was signed by Odoo (Standard Webhooks) and handles it once.
//
//   ODOO_WEBHOOK_SECRET=whsec_... PORT=8000 node warehouse_receiver.mjs
import {createHmac, timingSafeEqual} from "node:crypto";
import {createServer} from "node:http";

const TOLERANCE = 5 * 60; // seconds between Odoo's signature and its arrival

export function verify(secret, headers, body) {
    // headers: Node's (lower-case names); body: the raw Buffer
    const msgId = headers["webhook-id"] || "";
    const timestamp = headers["webhook-timestamp"] || "";
    if (!msgId || !/^\d+$/.test(timestamp)) {
        throw new Error("missing webhook-id or webhook-timestamp");
    }
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE) {
        throw new Error("signed too long ago (or in the future)");
    }
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = createHmac("sha256", key)
        .update(`${msgId}.${timestamp}.`)
        .update(body)
        .digest();
    // While Odoo rotates its secret, it sends two signatures, space-separated.
    for (const signature of (headers["webhook-signature"] || "").split(" ")) {
        const [version, value] = signature.split(",");
        const received = Buffer.from(value || "", "base64");
        if (
            version === "v1" &&
            received.length === expected.length &&
            timingSafeEqual(received, expected)
        ) {
            return JSON.parse(body);
        }
    }
    throw new Error("no valid signature");
}

export function warehouseServer(secret, onEvent) {
    const seen = new Set(); // in a real receiver: a table with a unique webhook-id
    return createServer((request, response) => {
        const chunks = [];
        request.on("data", (chunk) => chunks.push(chunk));
        request.on("end", async () => {
            let event;
            try {
                event = verify(secret, request.headers, Buffer.concat(chunks));
            } catch (error) {
                response.writeHead(401).end(error.message);
                return;
            }
            const msgId = request.headers["webhook-id"];
            try {
                if (!seen.has(msgId)) {
                    await onEvent(event);
                    seen.add(msgId);
                }
                response.writeHead(204).end(); // any 2xx: delivered
            } catch (error) {
                response.writeHead(500).end(); // Odoo retries later
            }
        });
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
    warehouseServer(process.env.ODOO_WEBHOOK_SECRET, (event) => {
        console.log(JSON.stringify(event));
    }).listen(Number(process.env.PORT || 8000), process.env.HOST);
}
