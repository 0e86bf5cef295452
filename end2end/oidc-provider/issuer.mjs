#!/usr/bin/env node
// A local OpenID Connect issuer for the end-to-end tests.
//
// It runs `oidc-provider` (panva/node-oidc-provider, an OpenID Certified implementation)
// on 127.0.0.1 so that Playwright can sign in to our app through a "generic OIDC issuer",
// with JavaScript on and off, without any network access. A second client, "Acme", lets the
// app use the same server as a plain OAuth 2 provider (see "The OAuth 2 client" below).
//
//   node end2end/oidc-provider/issuer.mjs
//
// Settings (environment variables, all optional):
//   ISSUER_PORT           port to listen on (default 4010); the issuer is http://127.0.0.1:PORT
//   ISSUER_CLIENT_ID      the OpenID Connect client's id       (default corp-e2e)
//   ISSUER_CLIENT_SECRET  its secret, sent with HTTP Basic     (default corp-e2e-secret)
//   ISSUER_REDIRECT_URI   its only redirect URI                (default http://127.0.0.1:3000/callback/corp)
//   ISSUER_OAUTH2_CLIENT_ID      the plain OAuth 2 client's id  (default acme-e2e)
//   ISSUER_OAUTH2_CLIENT_SECRET  its secret, sent with HTTP Basic (default acme-e2e-secret)
//   ISSUER_OAUTH2_REDIRECT_URI   its only redirect URI           (default http://127.0.0.1:3000/callback/acme)
//   ISSUER_ACCESS_TOKEN_TTL       access-token lifetime in seconds, for both clients (default
//                                 3600); the e2e run sets 30, so that every token the app keeps is
//                                 "nearly expired" and each use of it goes through a real
//                                 refresh_token grant
//   ISSUER_ROTATE_REFRESH_TOKENS  "on": every refresh_token grant returns a new refresh token and
//                                 the used one stops working (default off: the refresh token stays
//                                 the same; see `rotateRefreshToken` below)
//
// Endpoints (oidc-provider's default routes):
//   /.well-known/openid-configuration, /auth, /token, /me (userinfo), /jwks,
//   /token/revocation (RFC 7009, client_secret_basic, listed as `revocation_endpoint`),
//   /interaction/:uid (the built-in development login and consent pages).
//
// The OAuth 2 client ("Acme", ISSUER_OAUTH2_*): the authorization_code grant only (no refresh
// tokens), client_secret_basic, for an app that knows nothing of OpenID Connect: it is given
// /auth, /token and /me by hand, sends `state` and PKCE (S256), and reads the userinfo JSON.
// It has to ask for the `openid` scope all the same: oidc-provider's userinfo answers only
// access tokens that carry it (403 insufficient_scope, "access token missing openid scope"),
// and with it the token endpoint also returns an ID token (ES256), which such a client ignores.
// Asked for `openid email profile`, /me answers e.g.
//   {"sub":"ann","email":"ann@corp.example","email_verified":true,"name":"Corp ann","preferred_username":"ann"}
// Without `openid` the code flow itself works (no ID token), but /me refuses the access token.
// Like the Corp client's, its secret is also accepted in the token request's body
// (client_secret_post): oidc-provider takes either for a client registered for Basic.
// Both clients share the accounts, the browser session and the /test/ endpoints.
//
// Refresh tokens: the client may use the refresh_token grant. oidc-provider issues a refresh
// token only when the authorization request asked for `offline_access` AND sent
// `prompt=consent` (OIDC Core §11; without `prompt=consent` it silently drops offline_access
// from the request), and the consent page then grants it like any other scope. Such tokens do
// not end with the issuer's browser session. Revocation reaches further than the one token
// (lib/helpers/revoke.js): revoking a refresh token destroys its whole grant and every token
// issued with it; revoking an access token keeps the grant but destroys every token issued with
// it, the refresh token included.
//
// Test-only endpoints (this file's own, before oidc-provider's routes; 127.0.0.1 only):
//   POST /test/accounts/:login/name           body: the new display name, as text/plain or as
//        JSON {"name": "..."}; what userinfo says `name` is for that login from now on
//        (default `Corp <login>`). Answers 200 with {"login", "name"}.
//   POST /test/accounts/:login/revoke-grants  destroys every grant of that login and the tokens
//        issued with them, as if the person withdrew this site's access at the issuer: the next
//        refresh_token grant gets `invalid_grant`. Answers 200 with {"login", "revokedGrants": n}.
//   GET  /test/stats                          counts since the issuer started:
//        {"refreshTokenGrants": {"succeeded": n, "failed": n},
//         "revocations": {"succeeded": n, "failed": n, "refreshTokens": n, "accessTokens": n}}
//        where a succeeded revocation is a revocation request that found and destroyed a token
//        (RFC 7009 answers 200 to unknown tokens too; those are not counted), and a failed one
//        was refused (e.g. bad client authentication).
//   GET  /test/accounts/:login/stats          the same counts for one login (all zero for a login
//        never seen), without `revocations.failed` (a refused revocation names no account).
//
// Sign-in, as a browser sees it (two pages, both plain HTML forms that work without JS):
//   1. "Sign-in" page:  <input name="login">, <input name="password">, button "Sign-in".
//      Any login name is accepted with any (non-empty) password; the login name becomes `sub`.
//   2. "Authorize" page (consent): one button "Continue".
//   Then a 303 redirect to the client's redirect URI with ?code=…&state=…&iss=… (RFC 9207).
//   Within one browser context the session and grant are remembered (in memory), so a
//   second sign-in by the same context skips both pages unless the app sends a prompt:
//   prompt=login shows both again, prompt=consent (which offline_access needs) shows the
//   consent page ("Continue") every time.
//
// Warnings oidc-provider prints on purpose and that are expected here (all others are avoided
// by the configuration below):
//   - "Unsupported runtime. Use Node.js v22.x LTS ..." when run on Node 20 (it still works);
//   - "a quick start development-only in-memory adapter is used ..." (state dies with the process,
//     which is exactly what tests want);
//   - "a quick start development-only feature devInteractions is enabled ..." (we want them).
// Set DEBUG=oidc-provider:* for oidc-provider's own debug output.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** A positive whole number of seconds from the environment, or `fallback` when unset. */
function secondsFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0) {
    console.error(`issuer: ${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return Number(text);
}

const portText = process.env.ISSUER_PORT || '4010';
const port = Number(portText);
if (!/^[0-9]+$/.test(portText) || port <= 0 || port > 65535) {
  console.error(`issuer: ISSUER_PORT must be a TCP port number, got ${JSON.stringify(process.env.ISSUER_PORT)}`);
  process.exit(2);
}
// Exactly this string (no trailing slash) is the `iss` of every token and of discovery.
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.ISSUER_CLIENT_ID || 'corp-e2e';
const clientSecret = process.env.ISSUER_CLIENT_SECRET || 'corp-e2e-secret';
const redirectUri = process.env.ISSUER_REDIRECT_URI || 'http://127.0.0.1:3000/callback/corp';
const oauth2ClientId = process.env.ISSUER_OAUTH2_CLIENT_ID || 'acme-e2e';
const oauth2ClientSecret = process.env.ISSUER_OAUTH2_CLIENT_SECRET || 'acme-e2e-secret';
const oauth2RedirectUri = process.env.ISSUER_OAUTH2_REDIRECT_URI || 'http://127.0.0.1:3000/callback/acme';
const accessTokenTtl = secondsFromEnv('ISSUER_ACCESS_TOKEN_TTL', 60 * 60);
const rotateRefreshTokens = process.env.ISSUER_ROTATE_REFRESH_TOKENS === 'on';

// A fresh ES256 signing key for every run. Passing our own `jwks` avoids oidc-provider's
// built-in development keystore (and its warning) and its RSA default.
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingJwk = {
  ...(await exportJWK(privateKey)),
  kid: `e2e-${randomBytes(6).toString('hex')}`,
  alg: 'ES256',
  use: 'sig',
};

// Display names set through POST /test/accounts/:login/name, by login.
const displayNames = new Map();

// Any login name typed into the development login form is an account.
async function findAccount(_ctx, id) {
  return {
    accountId: id,
    // oidc-provider filters these by the granted scopes/claims (see `claims` below).
    // Called afresh for every userinfo request, so a renamed login shows its new name at once.
    async claims(_use, _scope) {
      return {
        sub: id,
        name: displayNames.get(id) ?? `Corp ${id}`,
        email: `${id}@corp.example`,
        email_verified: true,
        preferred_username: id,
      };
    },
  };
}

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }, {
    // "Acme", the plain OAuth 2 client (see the header).
    client_id: oauth2ClientId,
    client_secret: oauth2ClientSecret,
    redirect_uris: [oauth2RedirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // The `openid` scope userinfo needs brings an ID token along. Our only key is ES256, and
    // oidc-provider refuses a client with the default RS256 (invalid_client_metadata).
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingJwk] },
  findAccount,
  // Scope -> released claims. Listing `email` and `profile` here also makes them supported
  // scopes. Note: with the default `conformIdTokenClaims: true`, when an access token is issued
  // (always, for response_type=code) the ID token carries only `sub` (plus the protocol claims)
  // and the scope-released claims are served by the userinfo endpoint.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Signed cookies with a per-run key. Over plain http (ctx.secure is false) oidc-provider sets
  // its cookies without the Secure flag, so no `proxy` or https is needed on 127.0.0.1.
  // Cookies are not port-scoped: the browser also sends these to the app on 127.0.0.1:3000 and
  // lists them in `context.cookies('http://127.0.0.1:3000')`. The `issuer_` prefix (instead of
  // oidc-provider's `_session`, `_interaction`, `_interaction_resume`) makes them easy to tell apart.
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    names: {
      session: 'issuer_session',
      interaction: 'issuer_interaction',
      resume: 'issuer_interaction_resume',
    },
  },
  // Keep the built-in development login/consent pages (enabled by default; spelled out here).
  // PKCE (`pkce.required`) is left at its default: required for public clients only.
  // Revocation (RFC 7009) is off by default; our own allowedPolicy (the default's rule: a client
  // revokes only its own tokens) avoids the "you SHOULD change" line.
  features: {
    devInteractions: { enabled: true },
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
  },
  // The default already issues a refresh token exactly when the code (or grant) carries
  // `offline_access` and the client may use the refresh_token grant; spelled out here.
  issueRefreshToken: async (_ctx, client, source) =>
    client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
  // The default rotates a confidential client's refresh token only once 70% of its lifetime has
  // passed (never within a test run); say what we want instead of relying on that.
  rotateRefreshToken: rotateRefreshTokens,
  // Explicit lifetimes (seconds), so oidc-provider does not print "you SHOULD change ttl.*".
  ttl: {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
    RefreshToken: 24 * 60 * 60,
  },
  // Our app talks to the issuer server-to-server; no browser CORS is needed.
  clientBasedCORS: () => false,
};

const provider = new Provider(issuer, configuration);

// The development pages' inline CSS starts with `@import url(https://fonts.googleapis.com/...)`.
// The tests must only talk to 127.0.0.1 (and a hanging font request can delay the page's load
// event), so drop that import from every HTML page the issuer serves.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https?:\/\/[^)]*\);?/g, '');
  }
});

// Browsers ask every site for a favicon; a 404 would show as a console error on its pages.
provider.use(async (ctx, next) => {
  if (ctx.path === '/favicon.ico') {
    ctx.status = 204;
    return;
  }
  await next();
});

// What the test-only endpoints report: counts since start, in total and by login.
function newCounts() {
  return {
    refreshTokenGrants: { succeeded: 0, failed: 0 },
    revocations: { succeeded: 0, failed: 0, refreshTokens: 0, accessTokens: 0 },
  };
}
const totals = newCounts();
const countsByLogin = new Map();
function countsFor(login) {
  if (!countsByLogin.has(login)) countsByLogin.set(login, newCounts());
  return countsByLogin.get(login);
}
function accountCounts(login) {
  const { refreshTokenGrants, revocations: { failed: _unknown, ...revocations } } =
    countsByLogin.get(login) ?? newCounts();
  return { refreshTokenGrants, revocations };
}
// Grant ids by login, for revoke-grants (the in-memory adapter has no index by account).
const grantsByLogin = new Map();
// Refresh token (its value is its id: the default opaque format) -> login, so that a refused
// refresh_token grant can be put down to a login even when the token is gone.
const refreshTokenOwners = new Map();

provider.on('grant.saved', (grant) => {
  if (!grantsByLogin.has(grant.accountId)) grantsByLogin.set(grant.accountId, new Set());
  grantsByLogin.get(grant.accountId).add(grant.jti);
});
provider.on('refresh_token.saved', (token) => {
  refreshTokenOwners.set(token.jti, token.accountId);
});
// oidc-provider 9 emits `grant.success` (ctx) after any token endpoint grant and `grant.error`
// (ctx, err) for a refused one (lib/actions/token.js, lib/shared/error_handler.js).
function grantType(ctx) {
  try {
    return ctx.oidc.params?.grant_type;
  } catch {
    return undefined;
  }
}
provider.on('grant.success', (ctx) => {
  if (grantType(ctx) !== 'refresh_token') return;
  totals.refreshTokenGrants.succeeded += 1;
  const login = ctx.oidc.account?.accountId;
  if (login !== undefined) countsFor(login).refreshTokenGrants.succeeded += 1;
});
provider.on('grant.error', (ctx) => {
  if (grantType(ctx) !== 'refresh_token') return;
  totals.refreshTokenGrants.failed += 1;
  const login = refreshTokenOwners.get(ctx.oidc.params.refresh_token);
  if (login !== undefined) countsFor(login).refreshTokenGrants.failed += 1;
});
// There is no `revocation.success` event: the revocation endpoint destroys the token it found
// (`<kind>.destroyed`, emitted with the token) and answers 200 whether it found one or not
// (lib/actions/revocation.js). Other routes destroy tokens too, hence the route check.
for (const [event, kind] of [['refresh_token.destroyed', 'refreshTokens'], ['access_token.destroyed', 'accessTokens']]) {
  provider.on(event, (token) => {
    if (Provider.ctx?.oidc?.route !== 'revocation') return;
    for (const counts of [totals, countsFor(token.accountId)]) {
      counts.revocations.succeeded += 1;
      counts.revocations[kind] += 1;
    }
  });
}
provider.on('revocation.error', () => {
  totals.revocations.failed += 1;
});

/** The request body as UTF-8 text (at most 4 KiB). */
async function readBody(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 4096) ctx.throw(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The test-only endpoints (see the header). Only the test set-up talks to them.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/test/')) {
    await next();
    return;
  }
  const route = /^\/test\/accounts\/([^/]+)\/(name|revoke-grants|stats)$/.exec(ctx.path);
  let login;
  try {
    login = route && decodeURIComponent(route[1]);
  } catch {
    ctx.throw(400, 'bad login in path');
  }
  if (ctx.method === 'GET' && ctx.path === '/test/stats') {
    ctx.body = totals;
  } else if (ctx.method === 'GET' && route?.[2] === 'stats') {
    ctx.body = accountCounts(login);
  } else if (ctx.method === 'POST' && route?.[2] === 'name') {
    const text = await readBody(ctx);
    let name = text;
    if (ctx.request.is('json')) {
      try {
        name = JSON.parse(text).name;
      } catch {
        ctx.throw(400, 'body is not JSON');
      }
    }
    if (typeof name !== 'string' || name.trim() === '') ctx.throw(400, 'a non-empty name is needed');
    displayNames.set(login, name.trim());
    ctx.body = { login, name: name.trim() };
  } else if (ctx.method === 'POST' && route?.[2] === 'revoke-grants') {
    // As oidc-provider's own revocation does (lib/helpers/revoke.js): the tokens issued with
    // each grant, then the grant itself.
    let revokedGrants = 0;
    for (const grantId of grantsByLogin.get(login) ?? []) {
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
      ]);
      const grant = await provider.Grant.find(grantId, { ignoreExpiration: true });
      if (grant) {
        await grant.destroy();
        revokedGrants += 1;
      }
    }
    grantsByLogin.delete(login);
    ctx.body = { login, revokedGrants };
  } else {
    ctx.throw(404, `no test endpoint ${ctx.method} ${ctx.path}`);
  }
});

// One readable line per protocol error, to make failing end-to-end tests easier to read.
for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'jwks.error', 'discovery.error', 'revocation.error']) {
  provider.on(event, (_ctx, err) => {
    // error_detail says which check failed, e.g. "grant not found" behind a generic invalid_grant.
    const detail = [err.error_description, err.error_detail].filter(Boolean).join(': ');
    console.error(`issuer: ${event}: ${err.error ?? err.name}${detail ? ` (${detail})` : ''}`);
  });
}
provider.on('server_error', (_ctx, err) => {
  console.error('issuer: server_error:', err);
});

const server = createServer(provider.callback());

server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`issuer: cannot listen on 127.0.0.1:${port}: the port is already in use (set ISSUER_PORT to another port)`);
  } else {
    console.error(`issuer: cannot listen on 127.0.0.1:${port}: ${err.message}`);
  }
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider issuer listening on ${issuer}` +
    ` (access tokens live ${accessTokenTtl} s, refresh tokens ${rotateRefreshTokens ? '' : 'not '}rotated)`);
});

// Exit cleanly on SIGTERM (Playwright's webServer, kill) and SIGINT (Ctrl-C).
let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`issuer: ${signal} received, shutting down`);
  server.close(() => process.exit(0));
  // Browsers keep idle keep-alive connections open; do not wait for them.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
