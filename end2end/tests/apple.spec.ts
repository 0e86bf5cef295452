import http from "node:http";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  openAccount,
  sessionsStoredSince,
  signOut,
  storedSessionIds,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// "Sign in with Apple", against a local stand-in for Apple's server (end2end/apple/stand-in.mjs,
// started by .dev/test-all with OAUTH_APPLE_*): Apple's own quirks, as Apple documents them.
// The name comes once, in a `user` field of a form post (response_mode=form_post) that Apple's
// page sends to the app from another origin; the client secret is an ES256 JWT the app signs
// with its ".p8" key, which the stand-in checks with the npm package jose (code nobody here
// wrote); "Hide My Email" gives a private relay address; cancelling comes back as
// error=user_cancelled_authorize.

/** The stand-in for appleid.apple.com (APPLE_PORT in .dev/test-all). */
const APPLE = "http://127.0.0.1:4020";
const APP = "http://127.0.0.1:3000";
const CALLBACK = `${APP}/callback/apple`;
const CLIENT_ID = "com.example.signin.e2e";

/** A person no other test or earlier run has used: a first authorisation at the stand-in. */
function newPerson() {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return { login: `apple-${tag}`, firstName: "Ada", lastName: `Seed-${tag}` };
}
type Person = ReturnType<typeof newPerson>;

async function appleStats(request: APIRequestContext) {
  const response = await request.get(`${APPLE}/test/stats`);
  expect(response.status()).toBe(200);
  return response.json();
}

/** What the stand-in knows of a login, e.g. its pairwise `sub`. */
async function appleAccount(request: APIRequestContext, login: string) {
  const response = await request.get(`${APPLE}/test/accounts/${encodeURIComponent(login)}`);
  expect(response.status()).toBe(200);
  return response.json();
}

/** From the start page to the stand-in's sign-in page; the query the app sent there. */
async function startAtApple(page: Page, javaScriptEnabled: boolean): Promise<URLSearchParams> {
  await page.goto("/");
  if (javaScriptEnabled) await waitForHydration(page);
  const authorize = page.waitForRequest((r) => r.url().startsWith(`${APPLE}/auth/authorize?`));
  await page.getByRole("button", { name: "Sign in with Apple" }).click();
  const query = new URL((await authorize).url()).searchParams;
  await expect(page.getByRole("heading", { name: "Sign in with Apple ID" })).toBeVisible();
  return query;
}

/** On the stand-in's sign-in page: fill in the person and press Continue, or press Cancel. */
async function chooseAtApple(page: Page, choice: (Person & { hideMyEmail?: boolean }) | "Cancel") {
  if (choice === "Cancel") {
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    return;
  }
  await page.getByLabel("Apple ID", { exact: true }).fill(choice.login);
  await page.getByLabel("First name", { exact: true }).fill(choice.firstName);
  await page.getByLabel("Last name", { exact: true }).fill(choice.lastName);
  if (choice.hideMyEmail) await page.getByLabel("Hide My Email").check();
  await page.getByRole("button", { name: "Continue", exact: true }).click();
}

/**
 * Answers the stand-in's sign-in page, then lets its form post go to the app: by itself with
 * JavaScript, with a press of "Continue to the app" without. Returns the posted fields, once
 * the app has answered the POST with a 303 to its own GET /callback/apple (on which the
 * browser brings the pending sign-in's SameSite=Lax cookie).
 */
async function answerAtApple(
  page: Page,
  javaScriptEnabled: boolean,
  choice: (Person & { hideMyEmail?: boolean }) | "Cancel",
): Promise<URLSearchParams> {
  const posted = page.waitForRequest((r) => r.url() === CALLBACK && r.method() === "POST");
  await chooseAtApple(page, choice);
  if (!javaScriptEnabled) await page.getByRole("button", { name: "Continue to the app" }).click();
  const request = await posted;
  const response = await request.response();
  expect(response?.status()).toBe(303);
  const location = new URL(response?.headers()["location"] ?? "", CALLBACK);
  expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
  return new URLSearchParams(request.postData() ?? "");
}

/** A first sign-in of `person` from the start page, checked only as far as the heading. */
async function firstSignIn(page: Page, javaScriptEnabled: boolean, person: Person) {
  await startAtApple(page, javaScriptEnabled);
  const posted = await answerAtApple(page, javaScriptEnabled, person);
  expect(posted.get("user")).toBeTruthy();
  await expect(
    page.getByRole("heading", { name: `Hi, ${person.firstName} ${person.lastName}!` }),
  ).toBeVisible();
  return posted;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("first sign-in: the name from Apple's `user` field, an ES256 client secret Apple accepts", async ({
      page,
      request,
    }) => {
      const problems = watchForErrors(page);
      const person = newPerson();
      const before = await appleStats(request);
      const query = await startAtApple(page, javaScriptEnabled);

      // What the app asked for: a code, posted back (Apple sends name and email that way
      // only), with state, nonce and PKCE.
      expect(query.get("response_type")).toBe("code");
      expect(query.get("response_mode")).toBe("form_post");
      expect(query.get("client_id")).toBe(CLIENT_ID);
      expect(query.get("redirect_uri")).toBe(CALLBACK);
      expect(query.get("scope")?.split(" ").sort()).toEqual(["email", "name", "openid"]);
      expect(query.get("state")).toBeTruthy();
      expect(query.get("nonce")).toBeTruthy();
      expect(query.get("code_challenge_method")).toBe("S256");
      expect(query.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // Apple's page posts code, state and, this first time only, the `user` JSON.
      const posted = await answerAtApple(page, javaScriptEnabled, person);
      expect(posted.get("code")).toBeTruthy();
      expect(posted.get("state")).toBe(query.get("state"));
      expect(JSON.parse(posted.get("user") ?? "null")).toEqual({
        name: { firstName: person.firstName, lastName: person.lastName },
        email: `${person.login}@example.com`,
      });

      // The name can only have come from that field: Apple's ID token has none.
      await expect(
        page.getByRole("heading", { name: `Hi, ${person.firstName} ${person.lastName}!` }),
      ).toBeVisible();
      const me = await (await page.request.get("/api/me")).json();
      expect(me.email).toBe(`${person.login}@example.com`);
      expect(me.identities[0].provider).toBe("apple");
      expect(me.identities[0].subject).toBe((await appleAccount(request, person.login)).sub);
      // Apple's email_verified is the string "true".
      expect(me.identities[0].email_status).toBe("verified");

      // The app's client secret, as the stand-in (jose) checked it at the token endpoint.
      const after = await appleStats(request);
      expect(after.client_secrets_verified).toBeGreaterThan(before.client_secrets_verified);
      expect(after.client_secrets_refused).toBe(before.client_secrets_refused);
      expect(after.last_client_secret_header).toMatchObject({ alg: "ES256", kid: "KEY1234567" });
      const claims = after.last_client_secret_claims;
      expect(claims).toMatchObject({
        iss: "TEAM123456",
        sub: CLIENT_ID,
        aud: "https://appleid.apple.com",
      });
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(15777000);
      expect(problems).toEqual([]);
    });

    test("a second sign-in brings no `user` field, and the name stays", async ({ page }) => {
      const problems = watchForErrors(page);
      const person = newPerson();
      await firstSignIn(page, javaScriptEnabled, person);
      const first = await (await page.request.get("/api/me")).json();

      await signOut(page);
      await expect(page.getByRole("button", { name: "Sign in with Apple" })).toBeVisible();
      await startAtApple(page, javaScriptEnabled);
      // Whatever is typed now, Apple shares the name once only.
      const posted = await answerAtApple(page, javaScriptEnabled, {
        ...person,
        firstName: "Someone",
        lastName: "Else",
      });
      expect(posted.get("code")).toBeTruthy();
      expect(posted.has("user")).toBe(false);

      await expect(
        page.getByRole("heading", { name: `Hi, ${person.firstName} ${person.lastName}!` }),
      ).toBeVisible();
      const again = await (await page.request.get("/api/me")).json();
      expect(again.id).toBe(first.id);
      expect(problems).toEqual([]);
    });

    test("Hide My Email: the account shows the private relay address", async ({ page }) => {
      const problems = watchForErrors(page);
      const person = newPerson();
      await startAtApple(page, javaScriptEnabled);
      const posted = await answerAtApple(page, javaScriptEnabled, { ...person, hideMyEmail: true });
      const relay: string = JSON.parse(posted.get("user") ?? "{}").email;
      expect(relay).toMatch(/^[a-z0-9]+@privaterelay\.appleid\.com$/);
      await expect(
        page.getByRole("heading", { name: `Hi, ${person.firstName} ${person.lastName}!` }),
      ).toBeVisible();

      await openAccount(page, javaScriptEnabled);
      await expect(page.locator("body")).toContainText(relay);
      await expect(page.locator("body")).not.toContainText(`${person.login}@example.com`);
      expect(problems).toEqual([]);
    });

    test("cancelling at Apple returns a readable message and signs nobody in", async ({ page }) => {
      const problems = watchForErrors(page);
      const before = storedSessionIds();
      const query = await startAtApple(page, javaScriptEnabled);
      const posted = await answerAtApple(page, javaScriptEnabled, "Cancel");
      expect(posted.get("error")).toBe("user_cancelled_authorize");
      expect(posted.get("state")).toBe(query.get("state"));

      await expect(page.getByRole("alert")).toContainText("Sign-in cancelled.");
      expect(new URL(page.url()).origin).toBe(APP);
      if (javaScriptEnabled) await waitForHydration(page);
      expect((await page.request.get("/api/me")).status()).toBe(401);
      expect(sessionsStoredSince(before)).toEqual([]);
      // The message comes with a 400, which Chromium logs as a failed load; nothing else.
      expect(problems.filter((p) => !p.startsWith("console: Failed to load resource"))).toEqual([]);
    });

    test("a form post from another site with a made-up state signs nobody in", async ({ page }) => {
      const before = storedSessionIds();
      const response = await page.request.post(CALLBACK, {
        form: { code: "made-up-code", state: "made-up-state" },
        headers: { Origin: "http://evil.example" },
        maxRedirects: 0,
      });
      // A 303 to the app's own GET (where the state is found wanting), or refused at once
      // (400; 403 for an app that accepts such posts from Apple's origin only).
      expect([303, 400, 403]).toContain(response.status());
      const failed = /Authentication failed\.|came from another site/;
      if (response.status() === 303) {
        const location = new URL(response.headers()["location"] ?? "", CALLBACK);
        expect(location.origin).toBe(APP);
        await page.goto(location.toString());
        await expect(page.getByRole("alert")).toContainText(failed);
        await expect(page.getByRole("heading", { name: /^Hi, / })).toHaveCount(0);
      } else {
        expect(await response.text()).toMatch(failed);
      }
      expect((await page.request.get("/api/me")).status()).toBe(401);
      expect(sessionsStoredSince(before)).toEqual([]);
    });

    // 127.0.0.1:4020 and 127.0.0.1:3000 are one site (ports do not count), so the stand-in's
    // own form post brings SameSite=Lax cookies whatever the app does. Apple's page is on
    // another site. Here the stand-in's post is held back and the very same fields are posted
    // from http://localhost:4998, a different site from 127.0.0.1 (see security.spec.ts): the
    // sign-in only finishes if the app turns the POST into a GET of its own, where the
    // pending sign-in's Lax cookie is sent.
    test("Apple's form post from another site still finishes the sign-in", async ({ page }) => {
      const problems = watchForErrors(page);
      const person = newPerson();
      await startAtApple(page, javaScriptEnabled);
      let held = "";
      await page.route(CALLBACK, async (route) => {
        if (route.request().method() !== "POST") return route.fallback();
        held = route.request().postData() ?? "";
        await route.fulfill({
          status: 200,
          contentType: "text/html",
          body: "<!DOCTYPE html><title>Held</title><p>Held back by the test.</p>",
        });
      });
      await chooseAtApple(page, person);
      if (!javaScriptEnabled) await page.getByRole("button", { name: "Continue to the app" }).click();
      await expect(page.getByText("Held back by the test.")).toBeVisible();
      await page.unroute(CALLBACK);
      const fields = new URLSearchParams(held);
      expect(fields.get("code")).toBeTruthy();
      expect(fields.get("user")).toBeTruthy();

      const inputs = [...fields]
        .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
        .join("");
      const otherSite = http.createServer((_, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<!DOCTYPE html><title>Elsewhere</title>
                 <form method="post" action="${CALLBACK}">${inputs}<button>Continue to the app</button></form>`);
      });
      await new Promise<void>((ready) => otherSite.listen(4998, "::", ready));
      try {
        await page.goto("http://localhost:4998/");
        const posted = page.waitForRequest((r) => r.url() === CALLBACK && r.method() === "POST");
        await page.getByRole("button", { name: "Continue to the app" }).click();
        const request = await posted;
        expect((await request.allHeaders())["sec-fetch-site"]).toBe("cross-site");
        expect((await request.response())?.status()).toBe(303);
        await expect(
          page.getByRole("heading", { name: `Hi, ${person.firstName} ${person.lastName}!` }),
        ).toBeVisible();
        expect(new URL(page.url()).origin).toBe(APP);
      } finally {
        otherSite.close();
      }
      expect(problems).toEqual([]);
    });
  });
}
