import { expect, test } from "@playwright/test";
import { consent, uniqueName, waitForHydration, watchForErrors, signOut } from "./helpers";

// "Twitter" is the built-in provider's OAuth 1.0a endpoints, which check every signature.

test("sign in with Twitter through the consent page", async ({ page }) => {
  const problems = watchForErrors(page);
  const name = uniqueName("Tweety");
  const screenName = name.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 15);
  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Twitter" }).click();
  await expect(page).toHaveURL(/\/demo-provider\/oauth1\/authenticate\?oauth_token=/);
  await consent(page, name, "Allow");
  await expect(page.getByRole("heading", { name: `Hi, ${screenName}!` })).toBeVisible();
  await expect(page.getByText(`Twitter · ${screenName}`)).toBeVisible();
  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in with Twitter" })).toBeVisible();
  expect(problems).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("Twitter sign-in and cancellation", async ({ page }) => {
    await page.goto("/");
    await page.getByRole("button", { name: "Sign in with Twitter" }).click();
    await consent(page, "Not Today", "Deny");
    await expect(page.getByRole("alert")).toContainText("Sign-in cancelled.");

    await page.getByRole("button", { name: "Sign in with Twitter" }).click();
    await consent(page, "Plain Tweet", "Allow");
    await expect(page.getByRole("heading", { name: "Hi, plain_tweet!" })).toBeVisible();
  });
});
