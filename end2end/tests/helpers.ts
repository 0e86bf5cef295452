import { expect, type Page } from "@playwright/test";

/** A name no other test or earlier run has used, so each test is a first sign-in. */
export function uniqueName(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Fails the test on any uncaught exception or console error on the page. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

export async function waitForHydration(page: Page) {
  await expect(page.locator('#app-root[data-hydrated="true"]')).toHaveCount(1);
}

/** On the demo provider's consent page: enter a name and choose. */
export async function consent(page: Page, name: string, choice: "Allow" | "Deny") {
  await expect(page.getByRole("heading", { name: "Sign in to Social Sign-in?" })).toBeVisible();
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: choice }).click();
}
