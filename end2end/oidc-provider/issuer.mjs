#!/usr/bin/env node
// A local OpenID Connect issuer for the end-to-end tests.
//
// It runs `oidc-provider` (panva/node-oidc-provider, an OpenID Certified implementation)
// on 127.0.0.1 so that Playwright can sign in to our app through a "generic OIDC issuer",
// with JavaScript on and off, without any network access.
//
//   node end2end/oidc-provider/issuer.mjs
//
// Settings (environment variables, all optional):
//   ISSUER_PORT           port to listen on (default 4010); the issuer is http://127.0.0.1:PORT
//   ISSUER_CLIENT_ID      the one registered client's id      (default corp-e2e)
//   ISSUER_CLIENT_SECRET  its secret, sent with HTTP Basic     (default corp-e2e-secret)
//   ISSUER_REDIRECT_URI   its only redirect URI                (default http://127.0.0.1:3000/callback/corp)
//
// Endpoints (oidc-provider's default routes):
//   /.well-known/openid-configuration, /auth, /token, /me (userinfo), /jwks,
//   /interaction/:uid (the built-in development login and consent pages).
//
// Sign-in, as a browser sees it (two pages, both plain HTML forms that work without JS):
//   1. "Sign-in" page:  <input name="login">, <input name="password">, button "Sign-in".
//      Any login name is accepted with any (non-empty) password; the login name becomes `sub`.
//   2. "Authorize" page (consent): one button "Continue".
//   Then a 303 redirect to ISSUER_REDIRECT_URI with ?code=…&state=…&iss=… (RFC 9207).
//   Within one browser context the session and grant are remembered (in memory), so a
//   second sign-in by the same context skips both pages unless the app sends prompt=login.
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

// A fresh ES256 signing key for every run. Passing our own `jwks` avoids oidc-provider's
// built-in development keystore (and its warning) and its RSA default.
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingJwk = {
  ...(await exportJWK(privateKey)),
  kid: `e2e-${randomBytes(6).toString('hex')}`,
  alg: 'ES256',
  use: 'sig',
};

// Any login name typed into the development login form is an account.
async function findAccount(_ctx, id) {
  return {
    accountId: id,
    // oidc-provider filters these by the granted scopes/claims (see `claims` below).
    async claims(_use, _scope) {
      return {
        sub: id,
        name: `Corp ${id}`,
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
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
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
  features: {
    devInteractions: { enabled: true },
  },
  // Explicit lifetimes (seconds), so oidc-provider does not print "you SHOULD change ttl.*".
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
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

// One readable line per protocol error, to make failing end-to-end tests easier to read.
for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'jwks.error', 'discovery.error']) {
  provider.on(event, (_ctx, err) => {
    console.error(`issuer: ${event}: ${err.error ?? err.name}${err.error_description ? ` (${err.error_description})` : ''}`);
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
  console.log(`oidc-provider issuer listening on ${issuer}`);
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
