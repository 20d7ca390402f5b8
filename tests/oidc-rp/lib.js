/*
 * lib.js - what the black-box OpenID Connect tests stand on: a real qrlogind
 * per test (free port, temporary directory and database, --demo), the real
 * qrlogin-admin and vneid-sim, the demo portal as a process, and a small
 * "browser": a cookie jar that keeps Path and SameSite (a cross-site
 * navigation from a portal sends no SameSite=Strict cookie), redirects
 * followed by hand, and the login page's part of a QR login (its websocket,
 * POST /api/session, /oauth2/resume) - the page's JavaScript, not its
 * looks (tests/browser has those).
 *
 * Environment (ctest sets it): QRLOGIND, VNEID_SIM, QRLOGIN_ADMIN,
 * QRL_WEB_DIR, DEMO_PORTAL (examples/demo-portal/server.js).
 */
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import * as client from 'openid-client';

export const AN = '001099012345', AN_PHONE = '0912345678', PW = 'MatKhau@2024';
export const BINH = '079199001234', BINH_PHONE = '0987654321';
export const DEMO_ID = 'dongnai-demo', DEMO_SECRET = 'dongnai-demo-secret-for-the-demo-only';
export const DEMO_REDIRECT = 'http://localhost:8081/callback';
const WAIT_MS = 30000;

for (const v of ['QRLOGIND', 'VNEID_SIM', 'QRLOGIN_ADMIN', 'QRL_WEB_DIR'])
  if (!process.env[v]) throw new Error(v + ' is not set (run through ctest: oidc_rp.*)');

/* Secrets a server's log must never hold (passwords, codes, tokens). */
const SECRETS = new Set([PW, '123456', DEMO_SECRET]);
export function secret(v) { if (typeof v === 'string' && v.length >= 6) SECRETS.add(v); }

/* A short secret (a code) counts only as a whole token, a long one anywhere. */
function holds(line, v) {
  if (v.length >= 12) return line.includes(v);
  const tok = /[0-9A-Za-z_-]/;
  for (let i = line.indexOf(v); i >= 0; i = line.indexOf(v, i + 1))
    if ((i === 0 || !tok.test(line[i - 1])) && !tok.test(line[i + v.length] || ' ')) return true;
  return false;
}

function within(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error('timed out waiting for ' + what)), ms);
  })]).finally(() => clearTimeout(t));
}

/* Spawns argv and resolves {port} when stdout says "listening on
 * http://HOST:PORT/". */
function spawnListening(cmd, args, env, re) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const o = { proc, out: '', err: '' };
  proc.stderr.on('data', (d) => { o.err += d; });
  o.ready = within(new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      o.out += d;
      const m = o.out.match(re);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (c) => reject(new Error(cmd + ' exited ' + c + ': ' + o.err + o.out)));
  }), WAIT_MS, cmd + ' to listen');
  return o;
}

/* ---- qrlogind --------------------------------------------------------------- */

/* A fresh qrlogind (--demo: the demo citizens and the demo portal's client)
 * with extra arguments. */
export async function startOp(extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qrl-rp-'));
  const db = path.join(dir, 'q.db');
  const p = spawnListening(process.env.QRLOGIND, ['--port', '0', '--bind', '127.0.0.1', '--db', db,
    '--web', process.env.QRL_WEB_DIR, '--demo', '--hash-cost', '10', '--sms-outbox',
    path.join(dir, 'sms.log'), '--log-format', 'json', ...extra], {},
  /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = await p.ready;
  const op = { proc: p.proc, dir, db, port, issuer: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/`, log: () => p.err };
  op.stop = async () => {
    if (p.proc.exitCode === null) {
      const done = new Promise((r) => p.proc.on('exit', (c) => r(c)));
      p.proc.kill('SIGTERM');
      const code = await within(done, WAIT_MS, 'qrlogind to exit');
      if (code !== 0) throw new Error('qrlogind exited ' + code + ' on SIGTERM:\n' + p.err);
    }
    const lines = p.err.split('\n').filter((l) => l);
    for (const l of lines)
      for (const v of SECRETS)
        if (holds(l, v)) throw new Error('qrlogind logged a secret (' + v.slice(0, 4) + '...): ' + l);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return op;
}

/* Runs `qrlogin-admin --db <op's> --json ARGS`: {code, out (parsed JSON or
 * null), raw}. */
export function admin(op, args) {
  return new Promise((resolve) => {
    execFile(process.env.QRLOGIN_ADMIN, ['--db', op.db, '--json', ...args], (e, stdout, stderr) => {
      let out = null;
      try { out = JSON.parse(stdout); } catch (x) { /* not JSON */ }
      resolve({ code: e ? e.code : 0, out, raw: stdout + stderr });
    });
  });
}

/* Registers a portal with qrlogin-admin client add: {client_id,
 * client_secret}. */
export async function addClient(op, id, { redirect, postLogout, backchannel, minAcr } = {}) {
  const args = ['client', 'add', id, '--name', 'Cổng thử ' + id, '--redirect-uri', redirect];
  if (postLogout) args.push('--post-logout-redirect-uri', postLogout);
  if (backchannel) args.push('--backchannel-logout-uri', backchannel);
  if (minAcr) args.push('--min-acr', minAcr);
  const r = await admin(op, args);
  if (r.code !== 0 || !r.out || !r.out.client_secret) throw new Error('client add: ' + r.raw);
  secret(r.out.client_secret);
  return r.out;
}

/* ---- vneid-sim -------------------------------------------------------------- */

/* Runs vneid-sim --json against op as phone `home`: {code, out, raw}.
 * input: stdin text, or a promise of it (written once it resolves). */
export function sim(op, home, args, input) {
  return new Promise((resolve) => {
    const p = spawn(process.env.VNEID_SIM, ['--json', '--server', op.ws, '--home',
      path.join(op.dir, home), ...args]);
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.stdin.on('error', () => {});
    p.on('exit', (code) => {
      let j = null;
      try { j = JSON.parse(out); } catch (e) {
        try { j = JSON.parse(out.trim().split('\n').pop()); } catch (x) { /* not JSON */ }
      }
      if (j) { secret(j.otp); secret(j.session); }
      resolve({ code, out: j, raw: out + err });
    });
    Promise.resolve(input || '').then((t) => p.stdin.end(t), () => p.stdin.end(''));
  });
}

/* The phone of An (or id) logged in, with "Đăng nhập trên website" on. */
export async function phoneReady(op, home, id = AN) {
  const l = await sim(op, home, ['login', '--id', id, '--password', PW]);
  if (l.code !== 0) throw new Error('sim login: ' + l.raw);
  const g = await sim(op, home, ['settings', 'web-login', 'on', '--passcode', '123456']);
  if (g.code !== 0) throw new Error('sim web-login on: ' + g.raw);
}

/* ---- the browser ------------------------------------------------------------ */

export class Browser {
  constructor() { this.jar = []; this.ua = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120 oidc-rp-test'; }

  /* Keeps the Set-Cookie headers of res for url's host. */
  keep(url, res) {
    const host = new URL(url).host;
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      const c = { host: host.split(':')[0], name, value, path: '/', sameSite: 'lax' };
      let gone = false;
      for (const a of attrs) {
        const [k, v] = a.split('=').map((x) => (x || '').trim());
        if (/^path$/i.test(k)) c.path = v;
        if (/^samesite$/i.test(k)) c.sameSite = v.toLowerCase();
        if (/^max-age$/i.test(k) && Number(v) <= 0) gone = true;
      }
      secret(value);
      this.jar = this.jar.filter((x) => !(x.host === c.host && x.name === name && x.path === c.path));
      if (!gone && value) this.jar.push(c);
    }
  }

  /* The Cookie header for url; a cross-site top-level navigation sends no
   * SameSite=Strict cookie. */
  cookies(url, crossSite) {
    const u = new URL(url);
    return this.jar.filter((c) => c.host === u.hostname && u.pathname.startsWith(c.path) &&
      !(crossSite && c.sameSite === 'strict')).map((c) => c.name + '=' + c.value).join('; ');
  }

  cookie(host, name) {
    const c = this.jar.find((x) => x.host === host && x.name === name);
    return c ? c.value : '';
  }

  /* One request, no redirect followed: {status, location (absolute or ''),
   * body, res}. opts: method, body, headers, crossSite, origin. */
  async fetch(url, opts = {}) {
    const headers = { 'user-agent': this.ua, ...(opts.headers || {}) };
    const ck = this.cookies(url, opts.crossSite);
    if (ck) headers.cookie = ck;
    if (opts.origin) headers.origin = opts.origin;
    const res = await fetch(url, { method: opts.method || 'GET', headers, body: opts.body,
      redirect: 'manual' });
    this.keep(url, res);
    const loc = res.headers.get('location');
    return { status: res.status, location: loc ? new URL(loc, url).href : '',
      body: await res.text(), res };
  }

  /* GET url and follow redirects while they stay on hosts of op (the OP's
   * own steps); returns the first answer that is not such a redirect. The
   * first request is a cross-site navigation (a portal sent the browser). */
  async navigate(url, op, opts = {}) {
    let r = await this.fetch(url, { crossSite: opts.crossSite !== false });
    for (let i = 0; i < 5 && r.location && r.location.startsWith(op.issuer + '/oauth2/'); i++)
      r = await this.fetch(r.location, { crossSite: false });
    return r;
  }
}

/* ---- the login page's part ---------------------------------------------------- */

/* A QR login at the login page of op (the page at loginUrl, "/?oidc=ID"):
 * the page's websocket shows a QR, the phone `home` (logged in, web login
 * on) scans it and types the number the page shows, the page trades its
 * completion code for the session cookie and goes to /oauth2/resume.
 * Returns the answer to the resume (a redirect to the portal). */
export async function qrLoginAt(op, browser, loginUrl, home) {
  const ws = new WebSocket(op.ws, 'qrlogin.browser.v1', { origin: op.issuer,
    headers: { 'user-agent': browser.ua } });
  const msgs = [];
  let wake = null;
  ws.on('message', (d) => { msgs.push(JSON.parse(String(d))); if (wake) wake(); });
  const next = (type) => within((async () => {
    for (;;) {
      const i = msgs.findIndex((m) => m.type === type || m.type === 'error' ||
        m.type === 'declined' || m.type === 'expired');
      if (i >= 0) {
        const m = msgs.splice(i, 1)[0];
        if (m.type !== type) throw new Error('page got ' + JSON.stringify(m) + ' waiting for ' + type);
        return m;
      }
      await new Promise((r) => { wake = r; });
    }
  })(), WAIT_MS, 'the page\'s ' + type);
  try {
    await within(new Promise((r, j) => { ws.once('open', r); ws.once('error', j); }), WAIT_MS, 'ws open');
    const ch = await next('challenge');
    secret(ch.binding);
    /* the newest frame the page shows */
    let payload = ch.qr.payload;
    for (const m of msgs) if (m.type === 'frame' && m.qr) payload = m.qr.payload;
    let number = null;
    const scanned = next('scanned').then((m) => { number = m.number; return m.number + '\n'; });
    const scan = await sim(op, home, ['scan', payload, '--yes'], scanned);
    if (scan.code !== 0) throw new Error('scan: ' + scan.raw);
    if (!number) throw new Error('no number shown');
    const done = await next('completed');
    const r = await browser.fetch(op.issuer + '/api/session', { method: 'POST', origin: op.issuer,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: done.code, binding: ch.binding }) });
    if (r.status !== 200) throw new Error('/api/session: ' + r.status + ' ' + r.body);
    return await resume(op, browser, loginUrl);
  } finally {
    ws.close();
  }
}

/* The ID + password + SMS code login at the login page: {id, password},
 * then the code read from the phone's inbox; then /oauth2/resume. */
export async function otpLoginAt(op, browser, loginUrl, id = AN, phone = AN_PHONE) {
  const st = await browser.fetch(op.issuer + '/api/otp/start', { method: 'POST', origin: op.issuer,
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, password: PW }) });
  if (st.status !== 200) throw new Error('/api/otp/start: ' + st.status + ' ' + st.body);
  const attempt = JSON.parse(st.body).attempt;
  secret(attempt);
  const inbox = await sim(op, 'inbox-' + phone, ['inbox', '--phone', phone]);
  if (inbox.code !== 0 || !inbox.out || !inbox.out.otp) throw new Error('inbox: ' + inbox.raw);
  const v = await browser.fetch(op.issuer + '/api/otp/verify', { method: 'POST', origin: op.issuer,
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ attempt, otp: inbox.out.otp }) });
  if (v.status !== 200) throw new Error('/api/otp/verify: ' + v.status + ' ' + v.body);
  return await resume(op, browser, loginUrl);
}

async function resume(op, browser, loginUrl) {
  const req = new URL(loginUrl).searchParams.get('oidc');
  if (!req) throw new Error('not a login page for a portal: ' + loginUrl);
  return browser.fetch(op.issuer + '/oauth2/resume?req=' + req, { crossSite: false });
}

/* ---- the relying party (openid-client) ------------------------------------------ */

/* openid-client's Configuration for a client of op: discovery, HTTP on
 * loopback allowed, client_secret_basic, ID token signatures checked. */
export function rp(op, id = DEMO_ID, sec = DEMO_SECRET) {
  return client.discovery(new URL(op.issuer), id, { id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(sec),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
}

/* An authorization request of config: {url, checks} with fresh PKCE S256,
 * state and nonce; params adds or overrides parameters. */
export async function authRequest(config, params = {}, redirect = DEMO_REDIRECT) {
  const verifier = client.randomPKCECodeVerifier();
  const checks = { pkceCodeVerifier: verifier, expectedState: client.randomState(),
    expectedNonce: client.randomNonce() };
  const p = { redirect_uri: redirect, scope: 'openid profile citizen_id',
    state: checks.expectedState, nonce: checks.expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256', ...params };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  secret(verifier);
  return { url: client.buildAuthorizationUrl(config, p), checks };
}

export { client };
