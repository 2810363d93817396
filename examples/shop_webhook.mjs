// Sends a web shop's order to an Odoo "On webhook" automation, signed per
// Standard Webhooks (https://www.standardwebhooks.com/). Node.js 18+.
//
//   await sendOrder("https://odoo.example.com/web/hook/<uuid>", "whsec_...",
//                   {ref: "SO-1042", customer: {...}, lines: [...]});
//
// The message id is the order's reference: however often the order is sent,
// Odoo's replay protection runs the automation once.
import {createHmac} from "node:crypto";

const MAX_TRIES = 5;

export function sign(secret, msgId, timestamp, body) {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const mac = createHmac("sha256", key).update(`${msgId}.${timestamp}.${body}`);
    return `v1,${mac.digest("base64")}`;
}

export async function sendOrder(url, secret, order) {
    const body = JSON.stringify(order);
    const msgId = `order-${order.ref}`;
    for (let attempt = 1; ; attempt++) {
        // Signed again on every try: Odoo refuses signatures older than 5 minutes.
        const timestamp = String(Math.floor(Date.now() / 1000));
        let response = null;
        try {
            response = await fetch(url, {
                method: "POST",
                headers: {
                    "Content-Type": "application/json",
                    "webhook-id": msgId,
                    "webhook-timestamp": timestamp,
                    "webhook-signature": sign(secret, msgId, timestamp, body),
                },
                body,
            });
        } catch (error) {
            if (attempt >= MAX_TRIES) {
                throw error;
            }
        }
        if (response && response.status !== 429 && response.status < 500) {
            const answer = await response.json();
            if (!response.ok) {
                // 4xx: the order itself is refused; retrying will not help.
                throw new Error(`Odoo refused the order (${response.status}): ${answer.message}`);
            }
            return answer; // {status: "ok"}, with duplicate: true if already processed
        }
        if (attempt >= MAX_TRIES) {
            throw new Error(`Odoo did not take the order: HTTP ${response?.status}`);
        }
        const retryAfter = Number(response?.headers.get("Retry-After"));
        const seconds = retryAfter || 2 ** (attempt - 1);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
}
