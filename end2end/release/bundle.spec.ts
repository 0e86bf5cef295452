import { expect, test } from "@playwright/test";
import { signOut, uniqueName, waitForHydration, watchForErrors } from "../tests/helpers";

// The release bundle, unpacked into an empty folder and started with environment variables
// alone (.dev/smoke-release): its pages hydrate, its bundle arrives compressed, and a
// sign-in through oidc-provider (an OpenID Certified issuer) works end to end.
const ISSUER = process.env.RELEASE_ISSUER ?? "http://127.0.0.1:4011";
/** The brotli'd release bundle is ~200 KB; uncompressed, the WebAssembly alone is ~550 KB. */
const MAX_BUNDLE_BYTES = 300_000;

test("the unpacked bundle serves a compressed, hydrating page and signs people in", async ({ page }) => {
  const problems = watchForErrors(page);
  const encodings = new Map<string, string>();
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith("/pkg/")) encodings.set(path, response.headers()["content-encoding"] ?? "");
  });
  await page.goto("/");
  await waitForHydration(page);

  const weights = await page.evaluate(() => {
    const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const bundle = performance
      .getEntriesByType("resource")
      .filter((r) => new URL(r.name).pathname.startsWith("/pkg/"))
      .map((r) => r as PerformanceResourceTiming)
      .map((r) => ({ path: new URL(r.name).pathname, sent: r.transferSize, size: r.decodedBodySize }));
    return { page: navigation.transferSize, bundle };
  });
  const wasm = weights.bundle.find((file) => file.path.endsWith(".wasm"));
  expect(wasm, "the page loads its WebAssembly").toBeDefined();
  for (const file of weights.bundle) {
    expect(encodings.get(file.path), file.path).toBe("br");
    expect(file.sent, file.path).toBeLessThan(file.size);
  }
  const bundleBytes = weights.bundle.reduce((sum, file) => sum + file.sent, 0);
  console.log(
    `page weight as transferred: page ${weights.page} B, bundle ${bundleBytes} B ` +
      `(${weights.bundle.map((f) => `${f.path.split(".").pop()} ${f.sent}/${f.size}`).join(", ")})`,
  );
  expect(bundleBytes).toBeLessThan(MAX_BUNDLE_BYTES);

  // A sign-in through an issuer nobody here wrote, configured by environment variables alone.
  const login = uniqueName("release").replace(" ", "-");
  await page.getByRole("button", { name: "Sign in with Corp" }).click();
  await expect(page).toHaveURL(new RegExp(`^${ISSUER}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: `Hi, Corp ${login}!` })).toBeVisible();
  const me = await (await page.request.get("/api/me")).json();
  expect(me.identities[0].subject).toBe(login);

  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: `Hi, Corp ${login}!` })).toBeVisible();
  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in with Corp" })).toBeVisible();
  expect(problems).toEqual([]);
});
