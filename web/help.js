/* qrlogin — "Hỗ trợ" on the login page: the national portal's hotline
 * (a tel: link), how to get a VNeID account and what to do after "Quên mật
 * khẩu", in both languages. Text only, nothing fetched: the section works
 * offline and makes no request. This file brings its texts (i18n.js
 * translates the page after every script has run). */
'use strict';

(function () {
  window.QRL_I18N_ADD({
    'help.title': 'Hỗ trợ',
    'help.hotline': 'Tổng đài hỗ trợ Cổng Dịch vụ công quốc gia:',
    'help.call': 'Gọi tổng đài 1900.0368',
    'help.hours': 'Khi gọi, không đọc mật khẩu, mã OTP hay mã QR cho bất kỳ ai: tổng đài không bao giờ hỏi những thông tin này.',
    'help.vneid.q': 'Làm thế nào để có tài khoản VNeID?',
    'help.vneid.1': 'Tài khoản định danh điện tử mức 1: tải ứng dụng VNeID trên điện thoại (từ kho ứng dụng của điện thoại), chọn “Đăng ký”, nhập số định danh cá nhân và số điện thoại chính chủ, rồi làm theo hướng dẫn trên ứng dụng.',
    'help.vneid.2': 'Tài khoản mức 2 (cần để quét mã QR đăng nhập): đăng ký tại cơ quan Công an (Công an cấp xã, phường nơi cư trú hoặc nơi làm thẻ căn cước), mang theo thẻ căn cước / căn cước công dân gắn chip; sau đó kích hoạt tài khoản trên ứng dụng VNeID.',
    'help.forgot.q': 'Quên mật khẩu',
    'help.forgot.vneid': 'Tài khoản VNeID: mở ứng dụng VNeID, chọn “Quên mật khẩu”, nhập số định danh cá nhân và số điện thoại đã đăng ký để nhận mã OTP, rồi đặt mật khẩu mới. Nếu đã đổi số điện thoại hoặc không nhận được mã, đến cơ quan Công an nơi cư trú để được hỗ trợ.',
    'help.forgot.portal': 'Tài khoản do Cổng cấp (tổ chức, doanh nghiệp): gọi tổng đài 1900.0368 để được cấp lại mật khẩu. Công dân không cấp lại mật khẩu tài khoản cũ của Cổng mà đăng nhập bằng VNeID.'
  }, {
    'help.title': 'Help',
    'help.hotline': 'National Public Service Portal hotline:',
    'help.call': 'Call the hotline 1900.0368',
    'help.hours': 'When you call, never read out a password, a one-time code or a QR code: the hotline never asks for them.',
    'help.vneid.q': 'How do I get a VNeID account?',
    'help.vneid.1': 'Level 1 electronic identity: install the VNeID app on your phone (from your phone’s app store), choose “Register”, enter your personal ID number and your own phone number, and follow the app’s steps.',
    'help.vneid.2': 'Level 2 account (needed to log in with the QR code): register at the police (the commune or ward police where you live, or where you had your ID card made), bringing your chip-based ID card; then activate the account in the VNeID app.',
    'help.forgot.q': 'Forgot your password',
    'help.forgot.vneid': 'VNeID account: open the VNeID app, choose “Forgot password”, enter your personal ID number and registered phone number to receive a one-time code, then set a new password. If your phone number changed or no code arrives, go to the police where you live for help.',
    'help.forgot.portal': 'Portal-issued account (organizations and businesses): call the hotline 1900.0368 to have the password reset. Citizens do not get old portal passwords reset: they log in with VNeID.'
  });
})();
