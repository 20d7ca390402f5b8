/*
 * oidc.js - the demo portal as an OpenID Connect relying party of qrlogind,
 * through openid-client 6 (discovery, the authorization code flow with PKCE
 * S256, state and nonce, the ID token's signature checked against the OP's
 * key set, userinfo, RP-initiated logout) and jose (the back-channel logout
 * token).
 *
 * Not here: HTTP routing (server.js), pages (pages.js), sessions
 * (sessions.js).
 */
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const DISCOVERY_MAX_AGE_MS = 300 * 1000; /* the OP's own Cache-Control */
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const JTI_KEEP_MS = 10 * 60 * 1000;

export class RelyingParty {
  /* opts: issuer, clientId, clientSecret, redirectBase, acr (LoA1|LoA2). */
  constructor(opts) {
    this.opts = opts;
    this.config = null;
    this.fetchedAt = 0;
    this.jwks = null;
    this.jwksUri = '';
    this.seenJti = new Map();
  }

  get redirectUri() { return this.opts.redirectBase + '/callback'; }
  get postLogoutUri() { return this.opts.redirectBase + '/'; }

  /* The OP's configuration (discovery), fetched again after 5 minutes; a
   * failed refresh keeps the last good one. Throws if there never was one. */
  async configuration() {
    if (this.config && Date.now() - this.fetchedAt < DISCOVERY_MAX_AGE_MS) return this.config;
    try {
      const execute = [client.enableNonRepudiationChecks];
      if (new URL(this.opts.issuer).protocol === 'http:') execute.push(client.allowInsecureRequests);
      const c = await client.discovery(new URL(this.opts.issuer), this.opts.clientId,
        { id_token_signed_response_alg: 'ES256' },
        client.ClientSecretBasic(this.opts.clientSecret), { execute, timeout: 10 });
      this.config = c;
      this.fetchedAt = Date.now();
      const jwksUri = c.serverMetadata().jwks_uri;
      if (jwksUri !== this.jwksUri) {
        this.jwksUri = jwksUri;
        this.jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 10000 });
      }
    } catch (e) {
      if (!this.config) throw e;
    }
    return this.config;
  }

  /* Whether the OP offers RP-initiated logout. */
  async hasEndSession() {
    return !!(await this.configuration()).serverMetadata().end_session_endpoint;
  }

  /* Starts a login: the URL of the OP's authorization endpoint, and what
   * the callback must check (kept in the portal's session). */
  async startLogin() {
    const config = await this.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const pending = { verifier, state: client.randomState(), nonce: client.randomNonce(),
      acr: this.opts.acr, at: Date.now() };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      acr_values: this.opts.acr,
      ui_locales: 'vi'
    });
    return { url, pending };
  }

  /* Finishes a login at the callback URL (the whole URL the browser came
   * back to): the code redeemed, the ID token verified by the library
   * (signature against the OP's key set, iss, aud, exp, nonce, the state of
   * the response and its iss), userinfo fetched. Returns the citizen. */
  async finishLogin(currentUrl, pending) {
    const config = await this.configuration();
    const tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true
    });
    const claims = tokens.claims();
    if (pending.acr === 'LoA2' && claims.acr !== 'LoA2') {
      const e = new Error('the OP answered acr ' + claims.acr + ', LoA2 was asked');
      e.code = 'insufficient_acr';
      throw e;
    }
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    return {
      sub: claims.sub,
      sid: typeof claims.sid === 'string' ? claims.sid : '',
      name: typeof info.name === 'string' ? info.name : '',
      level: typeof info.level === 'number' ? info.level : null,
      acr: claims.acr || '',
      amr: Array.isArray(claims.amr) ? claims.amr.filter((a) => typeof a === 'string') : [],
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : null,
      idToken: tokens.id_token
    };
  }

  /* The OP's end_session URL for user, with state; null if the OP has no
   * end_session_endpoint. */
  async logoutUrl(user, state) {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return null;
    return client.buildEndSessionUrl(config, {
      id_token_hint: user.idToken,
      post_logout_redirect_uri: this.postLogoutUri,
      state
    });
  }

  /* Verifies a back-channel logout token (OpenID Connect Back-Channel
   * Logout 1.0, 2.6): signed by a key of the OP's key set (ES256 or RS256),
   * header typ logout+jwt, iss the issuer, aud this client, iat recent, a
   * jti not seen before, the back-channel logout event, sid or sub, and no
   * nonce. Returns {sid, sub}; throws with e.code 'invalid_request'. */
  async verifyLogoutToken(token) {
    const config = await this.configuration();
    const meta = config.serverMetadata();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: meta.issuer,
        audience: this.opts.clientId,
        typ: 'logout+jwt',
        algorithms: ['ES256', 'RS256'],
        requiredClaims: ['iat', 'jti', 'events'],
        maxTokenAge: '5 minutes',
        clockTolerance: 30
      }));
    } catch (e) {
      throw refusal('logout token: ' + e.message);
    }
    const events = payload.events;
    if (!events || typeof events !== 'object' || Array.isArray(events) ||
        typeof events[BACKCHANNEL_EVENT] !== 'object' || events[BACKCHANNEL_EVENT] === null)
      throw refusal('logout token: no back-channel logout event');
    if ('nonce' in payload) throw refusal('logout token: a nonce is not allowed');
    const sid = typeof payload.sid === 'string' ? payload.sid : '';
    const sub = typeof payload.sub === 'string' ? payload.sub : '';
    if (!sid && !sub) throw refusal('logout token: neither sid nor sub');
    if (typeof payload.jti !== 'string' || !payload.jti) throw refusal('logout token: no jti');
    const now = Date.now();
    for (const [k, t] of this.seenJti) if (now - t > JTI_KEEP_MS) this.seenJti.delete(k);
    if (this.seenJti.has(payload.jti)) throw refusal('logout token: jti replayed');
    this.seenJti.set(payload.jti, now);
    return { sid, sub };
  }
}

function refusal(msg) {
  const e = new Error(msg);
  e.code = 'invalid_request';
  return e;
}
