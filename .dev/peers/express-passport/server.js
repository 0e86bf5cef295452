// Express + Passport's Facebook sign-in as its READMEs show it, for `.dev/bench` to measure
// against social-signin in the same run (issue 22). Same job, same rules where they are
// Passport's defaults: the `state` check on, the session regenerated at sign-in, sessions
// and users in one SQLite file (WAL, synchronous=NORMAL, like ours), two workers (cluster).
//
// Environment: PORT, DATABASE_PATH, PUBLIC_URL, FACEBOOK_CLIENT_ID, FACEBOOK_CLIENT_SECRET,
// FACEBOOK_AUTHORIZE_URL, FACEBOOK_TOKEN_URL, FACEBOOK_PROFILE_URL, WORKERS (default 2).
'use strict';

const cluster = require('node:cluster');
const Database = require('better-sqlite3');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

function openDatabase() {
  const db = new Database(env('DATABASE_PATH'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (provider, subject)
  )`);
  return db;
}

if (cluster.isPrimary) {
  // The schema once, before the workers race to create it.
  openDatabase().close();
  const workers = Number(process.env.WORKERS || 2);
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    console.error(`worker ${worker.process.pid} ended (${signal || code})`);
    process.exit(1);
  });
} else {
  serve(openDatabase());
}

function serve(db) {
  const express = require('express');
  const session = require('express-session');
  const SqliteStore = require('better-sqlite3-session-store')(session);
  const passport = require('passport');
  const FacebookStrategy = require('passport-facebook').Strategy;

  const upsertUser = db.prepare(`INSERT INTO users (provider, subject, name) VALUES (?, ?, ?)
    ON CONFLICT (provider, subject) DO UPDATE SET name = excluded.name RETURNING *`);
  const userById = db.prepare('SELECT * FROM users WHERE id = ?');

  passport.use(new FacebookStrategy({
    clientID: env('FACEBOOK_CLIENT_ID'),
    clientSecret: env('FACEBOOK_CLIENT_SECRET'),
    authorizationURL: env('FACEBOOK_AUTHORIZE_URL'),
    tokenURL: env('FACEBOOK_TOKEN_URL'),
    profileURL: env('FACEBOOK_PROFILE_URL'),
    callbackURL: `${env('PUBLIC_URL')}/callback/facebook`,
    state: true,
  }, (accessToken, refreshToken, profile, done) => {
    done(null, upsertUser.get('facebook', profile.id, profile.displayName));
  }));
  passport.serializeUser((user, done) => done(null, user.id));
  passport.deserializeUser((id, done) => done(null, userById.get(id) || false));

  const app = express();
  app.disable('x-powered-by');
  app.use(session({
    store: new SqliteStore({ client: db }),
    secret: env('FACEBOOK_CLIENT_SECRET') + '-sessions',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 24 * 3600 * 1000 },
  }));
  app.use(passport.session());

  app.get('/authorize/facebook', passport.authenticate('facebook'));
  app.get('/callback/facebook',
    passport.authenticate('facebook', { failureRedirect: '/', successRedirect: '/' }));
  app.get('/', (req, res) => {
    res.type('html').send(page(req.user
      ? `<h1>Hi, ${escapeHtml(req.user.name)}!</h1>
         <p>Signed in with Facebook.</p>
         <form method="post" action="/logout"><button>Sign out</button></form>`
      : '<h1>Sign in</h1><p><a href="/authorize/facebook">Sign in with Facebook</a></p>'));
  });
  app.get('/api/me', (req, res) => {
    if (!req.user) return res.status(401).json({ error: 'not signed in' });
    res.json({
      nickname: req.user.name,
      identities: [{ provider: req.user.provider, subject: req.user.subject }],
    });
  });
  app.post('/logout', (req, res, next) => {
    req.logout((err) => (err ? next(err) : res.redirect('/')));
  });

  app.listen(Number(env('PORT')), '127.0.0.1');
}

function page(body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Social sign-in</title></head><body>${body}</body></html>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
