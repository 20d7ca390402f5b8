/* qrlogin — the portal page after login: greets the account (GET /api/me),
 * lists its dossiers, says whether an old portal account is linked, offers
 * "Cập nhật từ CSDL Quốc gia về dân cư" to a legacy citizen account, and logs
 * out (POST /api/logout). The session cookie is HttpOnly; this page never
 * sees it. */
'use strict';

(function () {
  var el = function (id) { return document.getElementById(id); };
  var METHODS = {
    qr: 'Quét mã QR bằng ứng dụng VNeID',
    qr_kiosk: 'Quét mã QR bằng ứng dụng VNeID tại máy tự phục vụ',
    password_otp: 'Số định danh cá nhân, mật khẩu và mã OTP',
    portal_otp: 'Tài khoản cấp bởi Cổng Dịch vụ công quốc gia và mã OTP'
  };

  /* 001099012345 -> 0010••••2345: enough to recognise, not to copy */
  function mask(id) {
    return id && id.length === 12 ? id.slice(0, 4) + '••••' + id.slice(8) : (id || '');
  }

  function day(unix) {
    return new Date(unix * 1000).toLocaleDateString('vi-VN');
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
      cell(tr, d.status);
      cell(tr, day(d.submitted_at));
      body.appendChild(tr);
    });
    el('dossiers').hidden = list.length === 0;
    el('no-dossiers').hidden = list.length !== 0;
  }

  function show(me) {
    var a = me.account || {};
    var citizen = me.kind === 'citizen';
    el('greeting').textContent = window.QRL_T('greeting') + (citizen ? a.full_name : a.display_name);
    if (me.kiosk) startKiosk(me.kiosk);
    if (citizen) {
      el('id-label').textContent = 'Số định danh cá nhân';
      el('citizen-id').textContent = mask(a.id);
      el('level-label').textContent = 'Mức định danh';
      el('level').textContent = 'Mức ' + a.level;
    } else {
      el('id-label').textContent = 'Tên đăng nhập';
      el('citizen-id').textContent = a.username;
      el('level-label').textContent = 'Loại tài khoản';
      el('level').textContent = me.kind === 'organization'
        ? 'Tổ chức, doanh nghiệp'
        : 'Công dân (tài khoản cũ' + (a.id_verified ? ', đã xác thực số định danh' : '') + ')';
    }
    el('method').textContent = METHODS[me.method] || me.method;
    el('login-at').textContent = new Date(me.login_at * 1000).toLocaleString('vi-VN');
    var notice = me.link && me.link.status !== 'none' ? me.link.message : '';
    el('link-notice').textContent = notice;
    el('link-notice').hidden = !notice || me.link.status === 'linked';
    el('verify').hidden = !me.can_verify_id;
    showDossiers(me.dossiers || []);
    el('status').hidden = true;
    el('profile').hidden = false;
  }

  function load() {
    return fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) {
          window.location.replace(kiosk ? '/kiosk.html' : '/');
          return null;
        }
        if (!r.ok) throw new Error();
        return r.json();
      })
      .then(function (me) { if (me) show(me); })
      .catch(function () {
        el('status').hidden = false;
        el('status').textContent =
          'Không tải được thông tin tài khoản. Vui lòng tải lại trang.';
      });
  }

  function verifyId(ev) {
    var id = el('verify-id').value.trim();
    ev.preventDefault();
    el('verify-error').textContent = '';
    if (!/^[0-9]{12}$/.test(id)) {
      el('verify-error').textContent = 'Số định danh cá nhân phải gồm 12 chữ số.';
      return;
    }
    fetch('/api/portal/verify-id', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ citizen_id: id })
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (res) {
      if (res.ok) load();
      else el('verify-error').textContent = res.body.message || 'Không cập nhật được.';
    }).catch(function () {
      el('verify-error').textContent = 'Không kết nối được tới máy chủ.';
    });
  }

  /* ---- kiosk: a shared machine ends the session by itself ---------------- */

  var kiosk = null, idleLeft = 0, idleTimer = 0;

  function resetIdle() {
    if (!kiosk) return;
    idleLeft = kiosk.idle_secs;
    el('idle').hidden = true;
  }

  function idleTick() {
    idleLeft--;
    if (idleLeft <= 0) { logout(); return; }
    if (idleLeft <= 30) {
      el('idle-text').textContent = window.QRL_T('idle.warn', { n: idleLeft });
      el('idle').hidden = false;
    }
  }

  function startKiosk(k) {
    if (kiosk) return;
    kiosk = k;
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
        el('status').textContent = 'Không đăng xuất được. Vui lòng thử lại.';
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    el('logout').addEventListener('click', logout);
    el('verify-form').addEventListener('submit', verifyId);
    load().then(function () { if (!el('profile').hidden) el('logout').focus(); });
  });
})();
