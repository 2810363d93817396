// A small client of Odoo's JSON/2 API with fetch (browsers, Node.js 18+,
// React Native): the API key as Bearer token, errors as exceptions, and
// patience when the key's rate limit says so.
//
//   const odoo = new OdooClient("https://odoo.example.com", "your-api-key");
//   const partners = await odoo.call("res.partner", "search_read", {
//       domain: [["is_company", "=", true]], fields: ["name", "email"], limit: 10,
//   });

const MAX_WAIT = 300; // seconds; a longer Retry-After means the daily quota is spent

export class OdooError extends Error {
    constructor(status, message) {
        super(`HTTP ${status}: ${message}`);
        this.status = status; // 403: the key's policy denies it; 429: rate limit
    }
}

export class OdooClient {
    constructor(url, apiKey, {database, tries = 5} = {}) {
        this.url = url.replace(/\/$/, "");
        this.tries = tries;
        this.headers = {
            Authorization: `Bearer ${apiKey}`,
            "Content-Type": "application/json",
        };
        if (database) {
            // only when the server hosts several databases
            this.headers["X-Odoo-Database"] = database;
        }
    }

    async call(model, method, params = {}) {
        for (let attempt = 1; ; attempt++) {
            const response = await fetch(`${this.url}/json/2/${model}/${method}`, {
                method: "POST",
                headers: this.headers,
                body: JSON.stringify(params),
            });
            const wait = Number(response.headers.get("Retry-After") || 1);
            if (response.status === 429 && attempt < this.tries && wait <= MAX_WAIT) {
                // Over the key's rate limit: Retry-After says when a call
                // will be accepted again.
                console.warn(`rate limited on ${model}.${method}: retrying in ${wait} s`);
                await new Promise((resolve) => setTimeout(resolve, wait * 1000));
                continue;
            }
            const body = await response.json();
            if (!response.ok) {
                throw new OdooError(response.status, body.message);
            }
            return body;
        }
    }
}
