/**
 * Tour steps that take the documentation's screenshots.
 *
 * The test running the tour (tests/ui/tour_screenshots.py) gives the page a
 * function that asks it for a picture of the screen; the step waits until
 * the picture is taken. Run by anyone else, the step only checks its
 * trigger.
 */

const BINDING = "integrationGatewayScreenshot";
const DONE = "integrationGatewayScreenshotTaken";
// Lets transitions, notifications and chart animations come to rest.
const SETTLE_MS = 1000;

/**
 * @param {string} name file name of the picture, without ".png"
 * @param {string} trigger what must be on screen
 * @param {string} content what the picture shows
 */
export function screenshotStep(name, trigger, content) {
    return {
        content: `Screenshot ${name}: ${content}`,
        trigger,
        async run() {
            const take = window[BINDING];
            if (!take) {
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
            await new Promise((resolve) => {
                window[DONE] = resolve;
                take(JSON.stringify({name, step: content}));
            });
        },
    };
}
