// Verifying Odoo's Ed25519 webhook signatures (Standard Webhooks v1a) on the
// receiver's side with Node.js: only the endpoint's public key (whpk_...) is
// needed, and it cannot sign.
//
//   ODOO_WEBHOOK_PUBLIC_KEY=whpk_... node verify_ed25519.mjs < request.json
//
// (request.json: {"headers": {...}, "body": "<the raw body>"}.)
import {createPublicKey, verify as verifySignature} from "node:crypto";

const TOLERANCE = 5 * 60; // seconds between Odoo's signature and its arrival

export function verify(publicKey, headers, body) {
    // headers: Node's (lower-case names); body: the raw Buffer
    const msgId = headers["webhook-id"] || "";
    const timestamp = headers["webhook-timestamp"] || "";
    if (!msgId || !/^\d+$/.test(timestamp)) {
        throw new Error("missing webhook-id or webhook-timestamp");
    }
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE) {
        throw new Error("signed too long ago (or in the future)");
    }
    // The key is the 32 raw bytes of an Ed25519 public key, in base64.
    const raw = Buffer.from(publicKey.replace(/^whpk_/, ""), "base64");
    const key = createPublicKey({
        format: "jwk",
        key: {kty: "OKP", crv: "Ed25519", x: raw.toString("base64url")},
    });
    const signed = Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`), body]);
    // While Odoo rotates its key, it sends two signatures, space-separated.
    for (const signature of (headers["webhook-signature"] || "").split(" ")) {
        const [version, value] = signature.split(",");
        if (
            version === "v1a" &&
            verifySignature(null, signed, key, Buffer.from(value || "", "base64"))
        ) {
            return JSON.parse(body);
        }
    }
    throw new Error("no valid signature");
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => {
        const request = JSON.parse(Buffer.concat(chunks));
        const headers = Object.fromEntries(
            Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
        );
        try {
            const event = verify(
                process.env.ODOO_WEBHOOK_PUBLIC_KEY,
                headers,
                Buffer.from(request.body),
            );
            console.log(JSON.stringify(event));
        } catch (error) {
            console.error(`refused: ${error.message}`);
            process.exit(1);
        }
    });
}
