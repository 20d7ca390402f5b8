/* qrlogin — "Thông tin định danh" on the portal page (GET /api/identity):
 * whether the old portal account is linked to the VNeID identity, since
 * when (dd/mm/yyyy), and how to link it if not; the seeds' two dates; and,
 * for a portal-account login whose ID was verified ("Cập nhật từ CSDL Quốc
 * gia về dân cư"), the notice that from now on the citizen logs in with
 * VNeID, with the way there ("Nhấp chọn đăng nhập tài khoản VNeID": ends
 * this portal-account session, then opens the VNeID login). portal.js
 * fires 'qrl-identity' after a verification. Needs i18n.js. */
'use strict';

(function () {
  window.QRL_I18N_ADD({
    'vn.title': 'Từ nay, hãy đăng nhập bằng tài khoản định danh điện tử VNeID',
    'vn.text': 'Tài khoản này đã được xác thực với CSDL Quốc gia về dân cư. Hãy đăng nhập Cổng bằng tài khoản định danh điện tử VNeID (“Tài khoản Định danh điện tử cấp bởi Bộ Công an”): tài khoản cũ và các hồ sơ đã nộp được liên kết tự động. Từ ngày {cutover}, công dân không còn đăng nhập được bằng tài khoản do Cổng cấp.',
    'vn.go': 'Nhấp chọn đăng nhập tài khoản VNeID',
    'id.title': 'Thông tin định danh',
    'id.account': 'Tài khoản cũ trên Cổng',
    'id.state': 'Liên kết với tài khoản VNeID',
    'id.since': 'Liên kết từ ngày',
    'id.verified.on': 'Xác thực số định danh ngày',
    'id.none.account': 'Không có',
    'id.s.linked': 'Đã liên kết',
    'id.s.verified': 'Đã xác thực số định danh, chưa liên kết',
    'id.s.unverified': 'Chưa liên kết (số định danh chưa được xác thực)',
    'id.s.none': 'Không có tài khoản cũ cần liên kết',
    'id.s.organization': 'Không áp dụng: tài khoản của tổ chức, doanh nghiệp',
    'id.how.linked.citizen': 'Các hồ sơ đã nộp bằng tài khoản cũ hiển thị trong “Hồ sơ của tôi”.',
    'id.how.linked.legacy': 'Các hồ sơ của tài khoản này cũng hiển thị khi bạn đăng nhập bằng tài khoản VNeID.',
    'id.how.verified': 'Để hoàn tất liên kết: đăng nhập một lần bằng tài khoản định danh điện tử VNeID; tài khoản cũ và các hồ sơ được liên kết tự động.',
    'id.how.unverified.legacy': 'Để liên kết: chọn “Cập nhật từ CSDL Quốc gia về dân cư” bên dưới để xác thực số định danh cá nhân, sau đó đăng nhập bằng tài khoản định danh điện tử VNeID.',
    'id.how.unverified.citizen': 'Tài khoản cũ “{user}” khai báo số định danh của bạn nhưng chưa được xác thực nên chưa liên kết. Để liên kết: trước ngày {cutover}, đăng nhập tài khoản cũ trên Cổng, chọn “Cập nhật từ CSDL Quốc gia về dân cư”, rồi đăng nhập lại bằng VNeID; sau ngày đó, gọi tổng đài 1900.0368 để được hỗ trợ.',
    'id.how.none': 'Nếu bạn từng nộp hồ sơ bằng một tài khoản do Cổng cấp mà chưa khai báo số định danh cá nhân, gọi tổng đài 1900.0368 để được hỗ trợ.',
    'id.how.organization': 'Tổ chức, doanh nghiệp tiếp tục đăng nhập bằng tài khoản do Cổng cấp.',
    'id.dates': 'Từ ngày {close}, công dân đăng ký tài khoản chỉ bằng VNeID: Bộ phận một cửa không còn tạo tài khoản công dân trên Cổng (tổ chức, doanh nghiệp vẫn được cấp). Từ ngày {cutover}, công dân không còn đăng nhập bằng tài khoản do Cổng cấp.'
  }, {
    'vn.title': 'From now on, log in with your VNeID electronic identity',
    'vn.text': 'This account has been verified against the national population database. Log in to the portal with your VNeID electronic identity (“Electronic identity account issued by the Ministry of Public Security”): your old account and its dossiers are linked automatically. From {cutover}, citizens can no longer log in with accounts issued by the portal.',
    'vn.go': 'Log in with VNeID',
    'id.title': 'Identity information',
    'id.account': 'Old portal account',
    'id.state': 'Linked to your VNeID account',
    'id.since': 'Linked since',
    'id.verified.on': 'ID verified on',
    'id.none.account': 'None',
    'id.s.linked': 'Linked',
    'id.s.verified': 'ID verified, not linked yet',
    'id.s.unverified': 'Not linked (the ID was never verified)',
    'id.s.none': 'No old account to link',
    'id.s.organization': 'Not applicable: an organization’s account',
    'id.how.linked.citizen': 'The dossiers filed with your old account are listed under “My dossiers”.',
    'id.how.linked.legacy': 'This account’s dossiers also show when you log in with VNeID.',
    'id.how.verified': 'To finish linking: log in once with your VNeID electronic identity; the old account and its dossiers are linked automatically.',
    'id.how.unverified.legacy': 'To link it: use “Update from the national population database” below to verify your personal ID number, then log in with your VNeID electronic identity.',
    'id.how.unverified.citizen': 'The old account “{user}” declares your ID but was never verified, so it is not linked. To link it: before {cutover}, log in with the old account, use “Update from the national population database”, then log in with VNeID again; after that day, call the hotline 1900.0368 for help.',
    'id.how.none': 'If you filed dossiers with a portal-issued account that never declared your personal ID number, call the hotline 1900.0368 for help.',
    'id.how.organization': 'Organizations and businesses keep logging in with portal-issued accounts.',
    'id.dates': 'From {close}, citizens register only with VNeID: one-stop desks no longer create citizen accounts on the portal (organizations still get them). From {cutover}, citizens can no longer log in with portal-issued accounts.'
  });

  var el = function (id) { return document.getElementById(id); };
  var T = function (k, v) { return window.QRL_T(k, v); };
  var shown = null; /* the last answer, redrawn on a language switch */

  function render() {
    var id = shown, linked, verified, how, since;
    if (!id) return;
    linked = id.status === 'linked';
    verified = id.status === 'verified';
    el('identity-account').textContent = id.username || T('id.none.account');
    el('identity-state').textContent = T('id.s.' + id.status);
    since = linked ? id.linked_at : verified ? id.verified_at : null;
    el('identity-since-label').textContent = T(linked ? 'id.since' : 'id.verified.on');
    el('identity-since').textContent = since ? window.QRL_DATE(since) : '';
    el('identity-since-label').hidden = el('identity-since').hidden = !since;
    how = id.status === 'linked' ? (id.kind === 'citizen' ? 'id.how.linked.citizen' : 'id.how.linked.legacy')
      : id.status === 'unverified' ? (id.kind === 'citizen' ? 'id.how.unverified.citizen' : 'id.how.unverified.legacy')
      : 'id.how.' + id.status;
    el('identity-how').textContent = T(how, { user: id.username, cutover: id.cutover });
    el('identity-dates').textContent = T('id.dates', { close: id.accounts_close, cutover: id.cutover });
    el('vneid-notice-text').textContent = T('vn.text', { cutover: id.cutover });
    el('vneid-notice').hidden = !id.vneid_notice;
    el('identity').hidden = false;
  }

  /* fromVerify: the notice just appeared because of the citizen's own act:
   * the focus goes to it, so that a screen reader says it. */
  function load(fromVerify) {
    return fetch('/api/identity', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (id) {
        if (!id) return;
        shown = id;
        render();
        if (fromVerify && id.vneid_notice) {
          el('vneid-notice-title').setAttribute('tabindex', '-1');
          el('vneid-notice-title').focus();
        }
      })
      .catch(function () { /* the section stays hidden; /api/me says what failed */ });
  }

  /* To the VNeID login: this portal-account session ends first, so that
   * the next login is the VNeID one. The link works without this too. */
  function goVneid(ev) {
    ev.preventDefault();
    fetch('/api/logout', { method: 'POST', credentials: 'same-origin' })
      .catch(function () { /* going anyway: the login page still works */ })
      .then(function () { window.location.assign('/#vneid'); });
  }

  document.addEventListener('qrl-lang', render);
  document.addEventListener('qrl-identity', function () { load(true); });
  document.addEventListener('DOMContentLoaded', function () {
    el('vneid-go').addEventListener('click', goVneid);
    load(false);
  });
})();
