import { expect, test } from "@playwright/test";
import { consent, uniqueName, signOut } from "./helpers";

test.use({ javaScriptEnabled: false });

test("the whole flow works with JavaScript disabled", async ({ page }) => {
  const name = uniqueName("Plain");
  await page.goto("/");
  await expect(page.locator('#app-root[data-hydrated="false"]')).toHaveCount(1);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, name, "Allow");
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();

  await page.reload();
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();

  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
  expect((await page.request.get("/api/me")).status()).toBe(401);
});

test("Facebook sign-in and cancellation work with JavaScript disabled", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("button", { name: "Sign in with Facebook" }).click();
  await consent(page, "Declines", "Deny");
  await expect(page.getByRole("alert")).toContainText("Sign-in cancelled.");

  const name = uniqueName("Faceless");
  await page.getByRole("button", { name: "Sign in with Facebook" }).click();
  await consent(page, name, "Allow");
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();
});
