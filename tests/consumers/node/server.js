// A compliant Record360 webhook consumer in Express, the way a Node team writes one.
//
// Why it exists: the zoo's Python consumers share one runtime with the verifier; this one runs in
// its own process, with the libraries Node teams use: express, express-rate-limit and
// jsonwebtoken. It follows the rules of mockserver/consumer.py (the reference consumer):
//
//   1. Auth first: a Bearer token compared in constant time, or a JWT verified by jsonwebtoken with
//      the algorithm pinned to HS256 (RFC 8725 §3.1), the issuer checked (§3.8), exp and iat
//      required, 30 s of clock-skew leeway (RFC 7519 §4.1.4). Failure: 401 + WWW-Authenticate.
//   2. express-rate-limit, per client, a fixed window of R360_RATE_WINDOW_MS: over the limit it
//      answers 429 with Retry-After in delta-seconds (RFC 9110 §10.2.3), the seconds left in the
//      window rounded up (1 for the default 1 s window). express-rate-limit sets Retry-After only
//      when legacyHeaders or standardHeaders is on: standardHeaders is 'draft-8' here.
//   3. application/json (or application/*+json) else 415; a JSON object else 400.
//   4. Tolerant reading: only `event` and the resource's `id` are read.
//   5. Unknown events are acknowledged: 202 {"status": "ignored"}.
//   6. Idempotency by (event, id): a repeat answers 200 {"status": "duplicate"}.
//   GET /ledger answers in the reference format: {"processed": [{event, id, count}], ...}.
//
// Knobs (environment variables; a bad value exits with code 2 and one line on stderr):
//   R360_AUTH            "bearer", "jwt" or "none" (required: no silent default)
//   R360_BEARER_TOKEN    the token, for bearer
//   R360_JWT_SECRET      the HS256 secret, for jwt
//   R360_JWT_ISSUER      the required "iss", for jwt (required)
//   R360_JWT_AUDIENCE    the required "aud", for jwt (optional)
//   R360_RATE_LIMIT      requests per window and client (default 20)
//   R360_RATE_WINDOW_MS  the window in milliseconds (default 1000)
//   R360_PORT            the port on 127.0.0.1 (default 0: one the OS picks)
//
// The first line on stdout is JSON: {"listening": "http://127.0.0.1:PORT", "port": PORT}.
// SIGTERM, SIGINT or, when stdin is a pipe, its end (the parent went away) close the server and
// exit 0.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const express = require('express');
const { rateLimit } = require('express-rate-limit');
const jwt = require('jsonwebtoken');

const HOST = '127.0.0.1';
const REALM = 'webhooks';
const JWT_LEEWAY_S = 30;
// The v1 events we handle: raw `event` value -> the key of the resource it carries.
const KNOWN_EVENTS = { create: 'transaction', completed: 'task' };

function fail(message) {
  process.stderr.write(`server.js: ${message}\n`);
  process.exit(2);
}

function positiveInt(env, name, fallback) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) fail(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return value;
}

function required(env, name) {
  const value = env[name];
  if (!value) fail(`${name} is not set (needed with R360_AUTH=${env.R360_AUTH})`);
  return value;
}

function readConfig(env) {
  const auth = env.R360_AUTH;
  const config = {
    auth,
    limit: positiveInt(env, 'R360_RATE_LIMIT', 20),
    windowMs: positiveInt(env, 'R360_RATE_WINDOW_MS', 1000),
    port: positiveInt(env, 'R360_PORT', 0),
  };
  if (auth === 'bearer') {
    config.token = required(env, 'R360_BEARER_TOKEN');
  } else if (auth === 'jwt') {
    config.secret = required(env, 'R360_JWT_SECRET');
    config.issuer = required(env, 'R360_JWT_ISSUER');
    config.audience = env.R360_JWT_AUDIENCE || undefined;
  } else if (auth !== 'none') {
    fail(`R360_AUTH must be bearer, jwt or none, not ${JSON.stringify(auth ?? '')}`);
  }
  if (config.limit < 1 || config.windowMs < 1) fail('R360_RATE_LIMIT and R360_RATE_WINDOW_MS must be at least 1');
  if (config.port > 65535) fail(`R360_PORT must be at most 65535, not ${config.port}`);
  return config;
}

// Constant time, and no early exit on length: compare digests of equal size.
function same(given, expected) {
  const digest = (text) => crypto.createHash('sha256').update(text, 'utf8').digest();
  return crypto.timingSafeEqual(digest(given), digest(expected));
}

function bearerToken(request) {
  const match = /^Bearer +(\S+) *$/i.exec(request.get('Authorization') ?? '');
  return match ? match[1] : null;
}

function authenticator(config) {
  if (config.auth === 'none') return () => true;
  if (config.auth === 'bearer') {
    return (request) => {
      const token = bearerToken(request);
      return token !== null && same(token, config.token);
    };
  }
  const options = {
    algorithms: ['HS256'], // pinned: never the token's own "alg"
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: JWT_LEEWAY_S,
  };
  return (request) => {
    const token = bearerToken(request);
    if (token === null) return false;
    try {
      const claims = jwt.verify(token, config.secret, options);
      // jsonwebtoken checks exp only when present: a token must carry both.
      return typeof claims.exp === 'number' && typeof claims.iat === 'number';
    } catch {
      return false;
    }
  };
}

class Ledger {
  constructor() {
    this.processed = new Map();
    this.counts = { accepted: 0, duplicates: 0, ignored: 0 };
    this.rejected = {};
  }

  // Check and record at once (one event loop turn): two copies are processed only once.
  recordOnce(event, id) {
    const key = JSON.stringify([event, id]);
    if (this.processed.has(key)) return false;
    this.processed.set(key, { event, id, count: 1 });
    return true;
  }

  reject(status) {
    this.rejected[status] = (this.rejected[status] ?? 0) + 1;
  }

  asJson() {
    return { processed: [...this.processed.values()], ...this.counts, rejected: { ...this.rejected } };
  }
}

// `create` -> ["transaction.create", id]; null for an unknown event or a missing id.
function eventAndId(body) {
  const resourceKey = Object.hasOwn(KNOWN_EVENTS, body.event) ? KNOWN_EVENTS[body.event] : null;
  const resource = resourceKey === null ? null : body[resourceKey];
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) return null;
  let id = resource.id;
  if (Number.isInteger(id)) id = String(id); // a numeric id from a lenient producer is that id
  if (typeof id !== 'string' || id === '') return null;
  return [`${resourceKey}.${body.event}`, id];
}

function createApp(config) {
  const app = express();
  const ledger = new Ledger();
  const authenticate = authenticator(config);
  const isJson = ['application/json', 'application/*+json'];
  app.disable('x-powered-by');

  function refuse(response, status, error, headers = {}) {
    ledger.reject(status);
    response.status(status).set(headers).json({ error });
  }

  function requireAuth(request, response, next) {
    if (authenticate(request)) return next();
    refuse(response, 401, 'missing or invalid credentials', { 'WWW-Authenticate': `Bearer realm="${REALM}"` });
  }

  const limiter = rateLimit({
    windowMs: config.windowMs,
    limit: config.limit,
    standardHeaders: 'draft-8', // RateLimit + RateLimit-Policy, and it turns Retry-After on
    legacyHeaders: false,
    handler: (request, response) => refuse(response, 429, 'rate limit exceeded'),
  });

  function receive(request, response) {
    if (!request.is(isJson)) return refuse(response, 415, 'the body must be application/json');
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return refuse(response, 400, 'the body must be a JSON object');
    }
    const found = eventAndId(body);
    if (found === null) {
      ledger.counts.ignored += 1;
      return response.status(202).json({ status: 'ignored' });
    }
    if (!ledger.recordOnce(...found)) {
      ledger.counts.duplicates += 1;
      return response.status(200).json({ status: 'duplicate' });
    }
    ledger.counts.accepted += 1;
    return response.status(202).json({ status: 'accepted' });
  }

  app.post('/webhooks', requireAuth, limiter, express.json({ type: isJson, limit: '10mb' }), receive);
  app.get('/ledger', (request, response) => response.json(ledger.asJson()));
  app.get('/healthz', (request, response) => response.json({ status: 'ok' }));
  app.use((request, response) => refuse(response, 404, 'not found'));
  // body-parser's errors (bad JSON 400, too large 413) as JSON, never Express's HTML page.
  app.use((error, request, response, next) => {
    if (response.headersSent) return next(error);
    const status = Number.isInteger(error.status) && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) process.stderr.write(`server.js: ${error.stack ?? error}\n`);
    return refuse(response, status, status === 400 ? 'the body is not valid JSON' : error.message);
  });
  return app;
}

function main() {
  const config = readConfig(process.env);
  const server = createApp(config).listen(config.port, HOST);
  server.on('listening', () => {
    const { port } = server.address();
    process.stdout.write(`${JSON.stringify({ listening: `http://${HOST}:${port}`, port })}\n`);
  });
  server.on('error', (error) => fail(`cannot listen on ${HOST}:${config.port}: ${error.message}`));
  let stopping = false;
  function stop() {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Started with a pipe as stdin (the pytest fixture does), its end means the parent is gone.
  if (fs.fstatSync(0).isFIFO()) {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}

main();
