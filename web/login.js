/* qrlogin — portal login page.
 *
 * Speaks the browser subprotocol (docs/protocol.md): on connect the server
 * sends a `challenge` with the QR modules; it then pushes `scanned`,
 * `declined` (with its `reason`: the citizen said no, or picked the wrong
 * number), `expired` or `completed` for that challenge only. On
 * `completed` the page trades the one-time code (plus the binding secret that
 * never left this page) for an HttpOnly session cookie and goes to the portal.
 */
'use strict';

(function () {
  var SUBPROTOCOL = 'qrlogin.browser.v1';
  var QUIET = 4; /* modules of white border the QR spec asks for */

  /* Texts come from i18n.js (Vietnamese by default, English on request). */
  var T = function (k) { return window.QRL_T(k); };


  var el = function (id) { return document.getElementById(id); };
  var ws = null;
  var current = null;   /* the live challenge message */
  var deadline = 0;     /* ms since epoch */
  var ticker = 0;
  var retryMs = 500;
  var retryTimer = 0;
  var wanted = false;   /* the QR panel is open: keep a socket */
  var done = false;     /* completion received: never reconnect */

  var shownState = 'connecting';
  var declinedWhy = ''; /* the `reason` of the last `declined` push */

  /* The text for a declined code: a wrong number is not the citizen saying
   * no, and the page says which (an unknown reason reads as a decline). */
  function declinedKey() {
    return declinedWhy === 'wrong_number' ? 'declined.wrong_number' : 'declined';
  }

  function setState(state, text) {
    shownState = state;
    el('qr-box').dataset.state = state;
    if (state === 'declined' && declinedWhy) el('qr-box').dataset.reason = declinedWhy;
    else delete el('qr-box').dataset.reason;
    el('status').textContent = text;
    var overlay = { scanned: '', expired: T('ov.expired'),
                    declined: T(declinedWhy === 'wrong_number' ? 'ov.wrong_number'
                                                               : 'ov.declined') }[state] || '';
    el('qr-overlay').textContent = overlay;
    el('qr-overlay').setAttribute('aria-hidden', 'true');
    /* Also while scanned: a citizen whose phone gave up is not stuck until
     * the code expires. */
    el('new-code').hidden = !(state === 'expired' || state === 'declined' ||
                              state === 'failed' || state === 'scanned');
    if (state !== 'ready' && state !== 'scanned') stopCountdown();
  }

  /* The QR's modules, row-major, 1 = dark: the page encodes the frame's
   * payload itself (qr.js: byte mode, level M, the smallest version), so the
   * server sends a frame as an HMAC and a few bytes. */
  function qrModules(qr) {
    return window.QRL_QR.encode(qr.payload);
  }

  /* Draws the modules with whole device pixels per module so the code stays
   * crisp at any size. */
  function drawQr(qr) {
    var canvas = el('qr');
    var sym = qrModules(qr);
    var size = sym.size;
    var total = size + 2 * QUIET;
    var cssPx = canvas.clientWidth || 330;
    var scale = Math.max(2, Math.floor(cssPx * (window.devicePixelRatio || 1) / total));
    canvas.width = canvas.height = total * scale;
    canvas.setAttribute('data-frame', String(qr.frame)); /* which frame is shown */
    var g = canvas.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = '#000';
    for (var y = 0; y < size; y++) {
      for (var x = 0; x < size; x++) {
        if (sym.modules[y * size + x])
          g.fillRect((x + QUIET) * scale, (y + QUIET) * scale, scale, scale);
      }
    }
    if (current && current.demo) {
      el('demo-png').href = canvas.toDataURL('image/png');
    }
  }

  function stopCountdown() {
    if (ticker) clearInterval(ticker);
    ticker = 0;
    el('countdown').textContent = '';
  }

  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    el('countdown').textContent = T('expires.in') + m + ':' + (s < 10 ? '0' : '') + s;
    if (left === 0) setState('expired', T('expired')); /* the server agrees */
  }

  function onChallenge(msg) {
    current = msg;
    deadline = Date.now() + msg.expires_in * 1000;
    if (msg.portal && msg.portal.name && window.QRL_LANG() === 'vi') {
      el('portal-name').textContent = msg.portal.name;
      /* Who asks: this portal, unless a relying portal's request names another. */
      var vp = el('vouch-portal'); /* not on the kiosk page */
      if (vp && vp.hasAttribute('data-i18n')) vp.textContent = msg.portal.name;
    }
    if (msg.kiosk && el('kiosk-name')) el('kiosk-name').textContent = '· ' + msg.kiosk;
    el('demo').hidden = !msg.demo || document.documentElement.hasAttribute('data-kiosk');
    el('demo-payload').textContent = msg.demo ? msg.qr.payload : '';
    drawQr(msg.qr);
    setState('ready', T('ready'));
    stopCountdown();
    tick();
    ticker = setInterval(tick, 1000);
  }

  function exchange(code) {
    setState('completing', T('completing'));
    fetch('/api/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: code, binding: current.binding })
    }).then(function (r) {
      /* A proxy's HTML error page is not JSON: treat it as no answer. */
      return r.json().then(function (body) { return { ok: r.ok, body: body }; },
                           function () { return { ok: false, body: null }; });
    }).then(function (res) {
      var to;
      if (!res.ok) { done = false; setState('failed', window.QRL_ERR(res.body)); return; }
      to = window.QRL_NEXT(res.body.redirect || '/portal.html');
      /* The portal page must find its way back to the kiosk. */
      if (document.documentElement.hasAttribute('data-kiosk')) to += '#kiosk';
      window.location.assign(to);
    }).catch(function () {
      done = false;
      setState('failed', T('network'));
    });
  }

  /* Number matching: the phone offers three numbers; this is the one. It
   * is shown large and said in the status line (a live region). */
  function showScanned() {
    var n = String(current.number);
    setState('scanned', T('scanned') + ' ' + T('pick') + n);
    el('qr-overlay').textContent = n;
    el('qr-overlay').setAttribute('aria-hidden', 'true'); /* said by #status */
  }

  function onMessage(ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type === 'challenge') { onChallenge(msg); return; }
    if (msg.type === 'error') {
      setState('failed', window.QRL_ERR(msg));
      return;
    }
    if (msg.type === 'reconnect') {
      /* This server is stopping: connect again (a load balancer sends the
       * page to another server) for a new code, the pages spread over a
       * second rather than all at once. */
      current = null;
      setState('connecting', T('reconnecting'));
      retryMs = 200 + Math.floor(Math.random() * 800);
      if (ws) ws.close();
      return;
    }
    if (!current || msg.id !== current.id) return; /* a stale push */
    switch (msg.type) {
    case 'scanned':
      current.number = msg.number;
      /* The phone has --scan-grace to confirm, maybe past the code's life. */
      if (typeof msg.expires_in === 'number') deadline = Date.now() + msg.expires_in * 1000;
      showScanned();
      break;
    case 'held':
      /* Scanned by a phone whose web login is off: the citizen is turning
       * it on; the code waits longer, and its QR goes on changing. */
      if (typeof msg.expires_in === 'number') deadline = Date.now() + msg.expires_in * 1000;
      el('status').textContent = T('held');
      tick();
      break;
    case 'frame':
      /* The QR changes every few seconds; an old photo of it is useless. */
      current.qr = msg.qr;
      drawQr(msg.qr);
      if (current.demo) el('demo-payload').textContent = msg.qr.payload;
      break;
    case 'declined':
      declinedWhy = typeof msg.reason === 'string' ? msg.reason : '';
      setState('declined', T(declinedKey()));
      break;
    case 'expired': setState('expired', T('expired')); break;
    case 'completed':
      done = true;
      exchange(msg.code);
      break;
    }
  }

  function connect() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = 0; }
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    var path = document.documentElement.hasAttribute('data-kiosk') ? '/kiosk' : '/';
    /* A relying portal's login: the server names that portal on the phone. */
    if (path === '/' && oidcReq) path = '/?oidc=' + oidcReq;
    var sock = new WebSocket(scheme + window.location.host + path, SUBPROTOCOL);
    ws = sock;
    sock.onopen = function () { retryMs = 500; };
    sock.onmessage = onMessage;
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      if (!wanted || done) return;
      current = null;
      setState('connecting', T('reconnecting'));
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  function newCode() {
    /* The button hides itself: keep the keyboard focus on the status. */
    el('status').setAttribute('tabindex', '-1');
    el('status').focus();
    if (ws && ws.readyState === WebSocket.OPEN) {
      setState('connecting', T('connecting'));
      ws.send(JSON.stringify({ type: 'new_challenge' }));
    } else {
      setState('connecting', T('connecting'));
      connect();
    }
  }

  /* ---- navigation: chooser, the VNeID tabs, the portal form -------------- */

  var PANELS = ['chooser', 'vneid-panel', 'portal-panel', 'otp-panel'];

  function showPanel(id) {
    PANELS.forEach(function (p) { el(p).hidden = p !== id; });
    el('back').hidden = id === 'chooser';
    if (id !== 'vneid-panel' || el('tab-qr').getAttribute('aria-selected') !== 'true')
      stopQr();
  }

  function startQr() {
    wanted = true;
    done = false;
    setState('connecting', T('connecting'));
    if (!ws) connect();
  }

  function stopQr() {
    wanted = false;
    if (ws) { var s = ws; ws = null; s.close(1000); }
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = 0; }
    current = null;
    stopCountdown();
  }

  function selectTab(tab) {
    var qr = tab === 'qr';
    el('tab-qr').setAttribute('aria-selected', qr ? 'true' : 'false');
    el('tab-pw').setAttribute('aria-selected', qr ? 'false' : 'true');
    el('tab-qr').tabIndex = qr ? 0 : -1;
    el('tab-pw').tabIndex = qr ? -1 : 0;
    el('qr-panel').hidden = !qr;
    el('pw-panel').hidden = qr;
    /* The socket (and its QR code) lives only while the QR is on screen. */
    if (qr) startQr(); else stopQr();
  }

  function tabKeys(ev) {
    if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight' &&
        ev.key !== 'Home' && ev.key !== 'End') return;
    ev.preventDefault();
    var toQr = ev.key === 'Home' ||
      (ev.key !== 'End' && el('tab-qr').getAttribute('aria-selected') !== 'true');
    selectTab(toQr ? 'qr' : 'pw');
    el(toQr ? 'tab-qr' : 'tab-pw').focus();
  }

  /* A phone cannot scan its own screen: on a small touch screen (its short
   * side under 600 CSS px, so a phone either way up but not a tablet, which
   * a phone can scan) the VNeID panel opens on the ID + password tab and
   * says why; the QR tab stays one tap away. Decided by the media query,
   * never by the user agent. */
  var PHONE = '(pointer: coarse) and (max-width: 599px), ' +
              '(pointer: coarse) and (max-height: 599px)';

  function onPhone() {
    return !!(window.matchMedia && window.matchMedia(PHONE).matches);
  }

  function openVneid() {
    var phone = onPhone();
    showPanel('vneid-panel');
    el('phone-note').hidden = !phone;
    selectTab(phone ? 'pw' : 'qr');
    el('vneid-title').focus();
  }

  function openPortal() {
    showPanel('portal-panel');
    el('portal-title').focus();
  }

  function back() {
    showPanel('chooser');
    el('choose-vneid').focus();
  }

  /* A language switch re-says the current state in the new language. */
  document.addEventListener('qrl-lang', function () {
    if (shownState === 'failed') return; /* keep the server's words */
    if (shownState === 'scanned' && current) showScanned();
    else setState(shownState, T(shownState === 'declined' ? declinedKey() : shownState));
    if (ticker) tick();
  });

  /* For otp.js: the OTP step replaces the form it came from. */
  window.QRL = { showPanel: showPanel, back: back };

  /* A relying portal's login (OpenID Connect, "/?oidc=<request id>"): the
   * page names the portal and, once logged in, goes back to the provider,
   * which sends the citizen on to the portal. */
  var oidcReq = (function () {
    var m = /[?&]oidc=([A-Za-z0-9_-]{22})(?:&|$)/.exec(window.location.search);
    return m ? m[1] : '';
  })();
  window.QRL_NEXT = function (to) {
    return oidcReq ? '/oauth2/resume?req=' + oidcReq : to;
  };
  function showOidcClient() {
    if (!oidcReq) return;
    fetch('/oauth2/request?req=' + oidcReq, { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (!body || !body.client_name) return;
      el('oidc-client').textContent = body.client_name;
      el('oidc-for').hidden = false;
      /* The relying portal asks; the translation no longer names ours. */
      if (el('vouch-portal')) {
        el('vouch-portal').removeAttribute('data-i18n');
        el('vouch-portal').textContent = body.client_name;
      }
    }).catch(function () { /* the login works without the name */ });
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (document.documentElement.hasAttribute('data-kiosk')) {
      /* The kiosk shows the QR at once and nothing else. */
      el('new-code').addEventListener('click', newCode);
      startQr();
      return;
    }
    showOidcClient();
    el('choose-vneid').addEventListener('click', openVneid);
    el('choose-portal').addEventListener('click', openPortal);
    el('tab-qr').addEventListener('click', function () { selectTab('qr'); });
    el('tab-pw').addEventListener('click', function () { selectTab('pw'); });
    el('tab-qr').addEventListener('keydown', tabKeys);
    el('tab-pw').addEventListener('keydown', tabKeys);
    el('new-code').addEventListener('click', newCode);
    el('back').addEventListener('click', back);
    if (window.location.hash === '#vneid') openVneid();
    else if (window.location.hash === '#portal') openPortal();
  });
})();
