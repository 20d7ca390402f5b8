/* qrlogin — the portal page after login: greets the account (GET /api/me),
 * lists its dossiers, says whether an old portal account is linked, offers
 * "Cập nhật từ CSDL Quốc gia về dân cư" to a legacy citizen account, and logs
 * out (POST /api/logout). The session cookie is HttpOnly; this page never
 * sees it. */
'use strict';

(function () {
  var el = function (id) { return document.getElementById(id); };
  var T = function (k, v) { return window.QRL_T(k, v); };
  /* Reached from the kiosk page ("/portal.html#kiosk"): whatever happens,
   * it goes back there, and leaves nothing behind. */
  var fromKiosk = window.location.hash === '#kiosk';
  var shown = null; /* the last /api/me answer, redrawn on a language switch */

  /* 001099012345 -> 0010••••2345: enough to recognise, not to copy */
  function mask(id) {
    return id && id.length === 12 ? id.slice(0, 4) + '••••' + id.slice(8) : (id || '');
  }


  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  function showDossiers(list) {
    var body = el('dossier-rows');
    while (body.firstChild) body.removeChild(body.firstChild);
    list.forEach(function (d) {
      var tr = document.createElement('tr');
      cell(tr, d.id);
      cell(tr, d.title);
      cell(tr, window.QRL_DOSSIER_STATUS(d.status));
      cell(tr, window.QRL_DATE(d.submitted_at));
      body.appendChild(tr);
    });
    el('dossiers').hidden = list.length === 0;
    el('no-dossiers').hidden = list.length !== 0;
  }

  function show(me) {
    shown = me;
    startKeepAlive(me);
    if (me.kiosk) startKiosk(me.kiosk);
    render();
    el('status').hidden = true;
    el('profile').hidden = false;
  }

  function render() {
    var me = shown, a, citizen, notice;
    if (!me) return;
    a = me.account || {};
    citizen = me.kind === 'citizen';
    el('greeting').textContent = T('greeting') + (citizen ? a.full_name : a.display_name);
    if (citizen) {
      el('id-label').textContent = T('id');
      el('citizen-id').textContent = mask(a.id);
      el('level-label').textContent = T('f.level');
      el('level').textContent = T('level.n', { n: a.level });
    } else {
      el('id-label').textContent = T('username');
      el('citizen-id').textContent = a.username;
      el('level-label').textContent = T('f.kind');
      el('level').textContent = me.kind === 'organization' ? T('kind.org')
        : T(a.id_verified ? 'kind.legacy.v' : 'kind.legacy');
    }
    el('method').textContent = T('m.' + me.method) || me.method;
    el('login-at').textContent = window.QRL_DATETIME(me.login_at);
    notice = me.link && me.link.status === 'unverified'
      ? (window.QRL_LANG() === 'en' ? T('link.' + me.link.status) : me.link.message) : '';
    el('link-notice').textContent = notice;
    el('link-notice').hidden = !notice;
    el('verify').hidden = !me.can_verify_id;
    showDossiers(me.dossiers || []);
  }

  document.addEventListener('qrl-lang', render);

  /* The session has ended (logged out, expired, or idle past the server's
   * limit): back to where one logs in. */
  function leave() {
    if (kiosk || fromKiosk) { clearTraces(); window.location.replace('/kiosk.html'); }
    else window.location.replace('/');
  }

  window.QRL_LEAVE = leave; /* sessions.js: this session was ended elsewhere */

  function load() {
    return fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) {
          leave();
          return null;
        }
        if (!r.ok) throw new Error();
        return r.json();
      })
      .then(function (me) { if (me) show(me); })
      .catch(function () {
        el('status').hidden = false;
        el('status').textContent = T('load.failed');
      });
  }

  function verifyId(ev) {
    var id = el('verify-id').value.trim();
    ev.preventDefault();
    el('verify-error').textContent = '';
    if (window.QRL_ID_PROBLEM(id)) {
      el('verify-error').textContent = window.QRL_ID_PROBLEM(id);
      return;
    }
    fetch('/api/portal/verify-id', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ citizen_id: id })
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; },
                           function () { return { ok: false, body: null }; });
    }).then(function (res) {
      if (res.ok) { load(); document.dispatchEvent(new CustomEvent('qrl-identity')); }
      else el('verify-error').textContent = res.body ? window.QRL_ERR(res.body) : T('verify.failed');
    }).catch(function () {
      el('verify-error').textContent = T('network');
    });
  }

  /* ---- the server's idle limit ------------------------------------------ */

  /* The server ends a session unused for me.idle_secs, counted from the use
   * it last recorded (it records one every me.idle_touch_secs at most). Reading
   * the page asks nothing of the server, so while the citizen is active the
   * page tells it so, at most once per idle_touch_secs. The server's record
   * then lags the last activity by less than two steps. */
  var touchMs = 0, lastContact = 0;

  function startKeepAlive(me) {
    if (touchMs) return;
    touchMs = (me.idle_touch_secs || 60) * 1000;
    lastContact = Date.now();
    ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(function (ev) {
      document.addEventListener(ev, keepAlive, { passive: true });
    });
  }

  function keepAlive() {
    if (Date.now() - lastContact < touchMs) return;
    lastContact = Date.now();
    fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) { if (r.status === 401) leave(); })
      .catch(function () { /* offline for a moment: the next activity tries again */ });
  }

  /* ---- kiosk: a shared machine ends the session by itself ---------------- */

  /* The page's own countdown, a convenience over the server's limit: it
   * warns 30 s before and leaves two recording steps early, so that the
   * server never ends a session the page still shows as alive. */
  var kiosk = null, idleLeft = 0, idleTimer = 0;

  function pageIdleSecs() {
    var margin = 2 * Math.ceil(touchMs / 1000);
    return Math.max(5, kiosk.idle_secs - margin);
  }

  function resetIdle() {
    if (!kiosk) return;
    idleLeft = pageIdleSecs();
    el('idle').hidden = true;
    el('idle-say').textContent = '';
  }

  function idleTick() {
    idleLeft--;
    if (idleLeft <= 0) { logout(); return; }
    if (idleLeft <= 30) {
      var text = T('idle.warn', { n: idleLeft });
      el('idle-text').textContent = text; /* the visible countdown */
      if (el('idle').hidden) {
        el('idle').hidden = false;
        el('idle-stay').focus();
      }
      /* Said aloud at 30 and 10 seconds, not every second. */
      if (idleLeft === 30 || idleLeft === 10) el('idle-say').textContent = text;
    }
  }

  function startKiosk(k) {
    if (kiosk) return;
    kiosk = k;
    document.body.classList.add('kiosk-portal'); /* read standing, at arm's length */
    resetIdle();
    ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(function (ev) {
      document.addEventListener(ev, resetIdle, { passive: true });
    });
    el('idle-stay').addEventListener('click', resetIdle);
    idleTimer = setInterval(idleTick, 1000);
  }

  /* Leaves nothing behind for the next citizen at a kiosk. */
  function clearTraces() {
    try { window.localStorage.clear(); window.sessionStorage.clear(); } catch (e) { /* none */ }
  }

  function logout() {
    el('logout').disabled = true;
    if (idleTimer) { clearInterval(idleTimer); idleTimer = 0; }
    fetch('/api/logout', { method: 'POST', credentials: 'same-origin' })
      .then(function () {
        if (kiosk) { clearTraces(); window.location.replace('/kiosk.html'); }
        else window.location.assign('/');
      })
      .catch(function () {
        el('logout').disabled = false;
        el('status').hidden = false;
        el('status').textContent = T('network');
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    el('logout').addEventListener('click', logout);
    el('verify-form').addEventListener('submit', verifyId);
    /* After login the page's heading has the focus (a screen reader starts
     * at the greeting), not "Đăng xuất". */
    load().then(function () {
      if (el('profile').hidden) return;
      el('greeting').setAttribute('tabindex', '-1');
      el('greeting').focus();
    });
  });
})();
