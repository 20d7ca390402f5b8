/*
 * sessions.js - the demo portal's own sessions, in memory: random 256-bit
 * ids in an HttpOnly cookie, a login in progress (state, nonce, PKCE
 * verifier) or a logged-in citizen (claims, userinfo, the ID token for
 * logout, the OP's sid for back-channel logout).
 *
 * Not here: anything about OpenID Connect itself (oidc.js), pages
 * (pages.js). A restart forgets every session, as a demo may.
 */
import { randomBytes } from 'node:crypto';

const COOKIE = 'dp_session';
const IDLE_MS = 30 * 60 * 1000;       /* unused for 30 minutes: gone */
const MAX_MS = 8 * 60 * 60 * 1000;    /* 8 hours at most */
const PENDING_MS = 10 * 60 * 1000;    /* a login in progress: 10 minutes */
const MAX_SESSIONS = 20000;           /* a flood of new visitors cannot fill memory */

export class SessionStore {
  constructor(secure) {
    this.secure = secure;
    this.byId = new Map();
    this.sweeper = setInterval(() => this.sweep(), 60 * 1000);
    this.sweeper.unref();
  }

  /* The session named by the request's cookie, or null. */
  get(req) {
    const id = cookieValue(req.headers.cookie, COOKIE);
    if (!id) return null;
    const s = this.byId.get(id);
    if (!s) return null;
    const now = Date.now();
    if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_MS) {
      this.byId.delete(id);
      return null;
    }
    s.lastSeen = now;
    return s;
  }

  /* A new, empty session under a fresh id (the old one, if any, is ended:
   * a login never keeps the id it started with). Its cookie goes on res. */
  create(res, old) {
    if (old) this.byId.delete(old.id);
    if (this.byId.size >= MAX_SESSIONS) this.sweep();
    if (this.byId.size >= MAX_SESSIONS) return null;
    const now = Date.now();
    const s = { id: randomBytes(32).toString('base64url'), created: now, lastSeen: now,
      pending: null, user: null, notice: null };
    this.byId.set(s.id, s);
    res.appendHeader('Set-Cookie', `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Lax` +
      (this.secure ? '; Secure' : ''));
    return s;
  }

  /* Ends session s and clears its cookie on res (res may be null). */
  end(s, res) {
    if (s) this.byId.delete(s.id);
    if (res) res.appendHeader('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` +
      (this.secure ? '; Secure' : ''));
  }

  /* Ends every logged-in session of the OP's session sid (or, when the
   * logout token has no sid, of the subject sub). Returns how many. */
  endByOp(sid, sub) {
    let n = 0;
    for (const [id, s] of this.byId) {
      if (!s.user) continue;
      if ((sid && s.user.sid === sid) || (!sid && sub && s.user.sub === sub)) {
        this.byId.delete(id);
        n++;
      }
    }
    return n;
  }

  /* A login in progress older than PENDING_MS is dropped. */
  pendingOf(s) {
    if (s && s.pending && Date.now() - s.pending.at > PENDING_MS) s.pending = null;
    return s ? s.pending : null;
  }

  sweep() {
    const now = Date.now();
    for (const [id, s] of this.byId)
      if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_MS) this.byId.delete(id);
  }

  close() { clearInterval(this.sweeper); }
}

/* The value of cookie name in a Cookie header, or ''. Only the characters
 * an id can hold are accepted. */
export function cookieValue(header, name) {
  if (typeof header !== 'string') return '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{43}$/.test(v) ? v : '';
  }
  return '';
}
