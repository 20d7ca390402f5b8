/*
 * qrlogin/error.h - the one error enum of qrlogin.
 *
 * Every failure anywhere in qrlogin (server, simulator, tests) is a qrl_err.
 * One X-macro table gives, for each error: the C name, the stable wire code
 * sent in JSON ("code"), an English description for logs, and the Vietnamese
 * message shown to citizens. The wire codes never change once published; add
 * new errors at the end of the table.
 *
 * This header depends on libc only.
 */
#ifndef QRLOGIN_ERROR_H
#define QRLOGIN_ERROR_H

/* XX(NAME, "wire_code", "English for logs", "Tiếng Việt cho công dân") */
#define QRL_ERRNO_MAP(XX)                                                        \
  XX(OK, "ok", "success", "Thành công.")                                          \
  XX(NOMEM, "internal", "out of memory", "Hệ thống đang bận, vui lòng thử lại sau.") \
  XX(INTERNAL, "internal", "internal error", "Hệ thống đang bận, vui lòng thử lại sau.") \
  XX(DB, "internal", "database error", "Hệ thống đang bận, vui lòng thử lại sau.") \
  XX(CRYPTO, "internal", "cryptography error", "Hệ thống đang bận, vui lòng thử lại sau.") \
  XX(IO, "io_error", "input/output error", "Lỗi đọc/ghi dữ liệu.")                  \
  XX(INVAL, "invalid_argument", "invalid argument", "Tham số không hợp lệ.")        \
  XX(BAD_JSON, "bad_json", "message is not valid JSON", "Dữ liệu gửi lên không đúng định dạng JSON.") \
  XX(BAD_MESSAGE, "bad_message", "message field missing or invalid", "Dữ liệu gửi lên thiếu hoặc sai trường thông tin.") \
  XX(UNKNOWN_TYPE, "unknown_type", "unknown message type", "Loại yêu cầu không được hỗ trợ.") \
  XX(FRAME_TOO_BIG, "frame_too_big", "message exceeds the size limit", "Dữ liệu gửi lên vượt quá kích thước cho phép.") \
  XX(BAD_ORIGIN, "bad_origin", "origin not allowed", "Nguồn truy cập không được phép.") \
  XX(INVALID_ID, "invalid_citizen_id", "citizen ID must be 12 digits", "Số định danh cá nhân phải gồm 12 chữ số.") \
  XX(BAD_CREDENTIALS, "bad_credentials", "wrong ID or password", "Số định danh cá nhân hoặc mật khẩu không đúng.") \
  XX(SESSION_INVALID, "session_invalid", "app session missing, expired or revoked", "Phiên đăng nhập ứng dụng đã hết hạn. Vui lòng đăng nhập lại ứng dụng VNeID.") \
  XX(WRONG_DEVICE, "wrong_device", "request not from the account's current device", "Tài khoản đang được đăng nhập trên thiết bị khác.") \
  XX(BAD_DEVICE_KEY, "bad_device_key", "device public key is not a valid P-256 point", "Khoá thiết bị không hợp lệ.") \
  XX(LEVEL_TOO_LOW, "level_too_low", "account level too low for this login", "Tài khoản định danh điện tử mức 1 không sử dụng được chức năng này. Vui lòng nâng cấp lên tài khoản mức 2.") \
  XX(NOT_PERMITTED, "web_login_not_permitted", "web-login permission is off", "Tài khoản của bạn không có quyền đăng nhập trên cổng thông tin định danh điện tử. Vui lòng cập nhật lại quyền trên thiết bị") \
  XX(BAD_PASSCODE_FORMAT, "bad_passcode_format", "passcode must be 6 digits", "Mã bảo vệ phải gồm 6 chữ số.") \
  XX(WRONG_PASSCODE, "wrong_passcode", "wrong passcode", "Mã bảo vệ không đúng.")   \
  XX(LOCKED, "locked", "too many wrong passcodes; temporarily locked", "Bạn đã nhập sai mã bảo vệ quá 5 lần. Tài khoản tạm khoá: lần đầu 15 phút, mỗi lần khoá tiếp theo gấp đôi (tối đa 16 giờ). Vui lòng thử lại sau.") \
  XX(BAD_QR, "bad_qr", "not a qrlogin QR code", "Mã QR không hợp lệ.")            \
  XX(CHALLENGE_UNKNOWN, "challenge_unknown", "no such login challenge", "Mã QR không tồn tại hoặc đã bị huỷ.") \
  XX(CHALLENGE_EXPIRED, "challenge_expired", "login challenge expired", "Mã QR đã hết hạn. Vui lòng lấy mã mới trên trang đăng nhập.") \
  XX(CHALLENGE_USED, "challenge_used", "login challenge already used", "Mã QR đã được sử dụng.") \
  XX(CHALLENGE_DECLINED, "challenge_declined", "login challenge was declined", "Yêu cầu đăng nhập đã bị từ chối.") \
  XX(CHALLENGE_CANCELLED, "challenge_cancelled", "browser left; challenge cancelled", "Trang đăng nhập đã đóng, yêu cầu bị huỷ.") \
  XX(CHALLENGE_OTHER_ACCOUNT, "challenge_other_account", "challenge was scanned by another account", "Mã QR đã được quét bởi tài khoản khác.") \
  XX(CHALLENGE_NOT_SCANNED, "challenge_not_scanned", "confirm before scan", "Vui lòng quét mã QR trước khi xác nhận.") \
  XX(BAD_SIGNATURE, "bad_signature", "device signature does not verify", "Chữ ký của thiết bị không hợp lệ.") \
  XX(STALE_TIMESTAMP, "stale_timestamp", "signed timestamp outside the allowed window", "Thời gian trên thiết bị không đúng.") \
  XX(CODE_INVALID, "code_invalid", "completion code unknown, used, expired or not bound to this browser", "Mã hoàn tất đăng nhập không hợp lệ hoặc đã hết hạn.") \
  XX(NOT_AUTHENTICATED, "not_authenticated", "no valid web session", "Bạn chưa đăng nhập.") \
  XX(NOT_FOUND, "not_found", "not found", "Không tìm thấy trang.")                  \
  XX(METHOD, "method_not_allowed", "method not allowed", "Phương thức không được hỗ trợ.") \
  XX(LENGTH_REQUIRED, "length_required", "a request body needs a Content-Length", "Yêu cầu thiếu độ dài nội dung (Content-Length).") \
  XX(RATE_LIMITED, "rate_limited", "too many requests", "Bạn thao tác quá nhanh, vui lòng thử lại sau.") \
  XX(UNAVAILABLE, "unavailable", "server busy or shutting down", "Hệ thống đang bận, vui lòng thử lại sau.") \
  XX(NETWORK, "network_error", "cannot reach the server", "Không kết nối được tới máy chủ.") \
  XX(PROTOCOL, "protocol_error", "unexpected reply from peer", "Máy chủ trả lời không đúng giao thức.") \
  XX(NOT_LOGGED_IN, "not_logged_in", "the app is not logged in", "Ứng dụng chưa đăng nhập. Vui lòng đăng nhập.") \
  XX(DECLINED_BY_USER, "declined", "the user declined", "Bạn đã từ chối đăng nhập.") \
  XX(BAD_PASSWORD_FORMAT, "bad_password_format", "password must be 8 to 20 characters", "Mật khẩu phải gồm từ 8 đến 20 ký tự.") \
  XX(INVALID_USERNAME, "invalid_username", "username is not well-formed", "Tên đăng nhập không hợp lệ.") \
  XX(OTP_WRONG, "otp_wrong", "wrong one-time code", "Mã OTP không đúng. Vui lòng kiểm tra tin nhắn và nhập lại.") \
  XX(OTP_VOID, "otp_void", "too many wrong one-time codes; the code is void", "Bạn đã nhập sai mã OTP quá 5 lần. Mã không còn hiệu lực, vui lòng đăng nhập lại.") \
  XX(OTP_EXPIRED, "otp_expired", "one-time code expired", "Mã OTP đã hết hạn. Vui lòng bấm “Gửi lại mã”.") \
  XX(OTP_INVALID, "otp_invalid", "no such login attempt, or already used", "Phiên xác thực OTP không hợp lệ hoặc đã được sử dụng. Vui lòng đăng nhập lại.") \
  XX(NO_PHONE, "no_phone", "the account has no registered phone number", "Tài khoản chưa có số điện thoại đăng ký để nhận mã OTP. Vui lòng liên hệ bộ phận hỗ trợ.") \
  XX(LEGACY_CLOSED, "legacy_login_closed", "citizens log in with VNeID since the cutover", "Công dân không còn đăng nhập bằng tài khoản do Cổng Dịch vụ công cấp. Vui lòng đăng nhập bằng tài khoản định danh điện tử VNeID (“Tài khoản Định danh điện tử cấp bởi Bộ Công an”).") \
  XX(POPULATION_MISMATCH, "population_mismatch", "the details do not match the national population database", "Thông tin không khớp với CSDL Quốc gia về dân cư. Vui lòng kiểm tra lại số định danh cá nhân, họ tên và ngày sinh.") \
  XX(FORBIDDEN, "forbidden", "not allowed for this account", "Tài khoản này không thực hiện được thao tác này.") \
  XX(FRAME_STALE, "frame_stale", "the scanned QR frame is too old", "Mã QR đã cũ. Vui lòng quét mã đang hiển thị trên màn hình đăng nhập.") \
  XX(DEVICE_TOO_NEW, "device_too_new", "this device was registered too recently", "Thiết bị này mới đăng nhập nên chưa bật được quyền “Đăng nhập trên website”. Vui lòng thử lại sau 24 giờ kể từ khi đăng nhập trên thiết bị này.") \
  XX(PROXIMITY, "proximity_mismatch", "phone and browser are on different networks", "Điện thoại và máy tính đang đăng nhập không ở cùng một mạng. Vì an toàn, hãy dùng điện thoại ở gần máy tính (cùng mạng Wi-Fi) rồi quét lại.") \
  XX(WRONG_NUMBER, "wrong_number", "the number picked is not the one on the login page", "Số bạn chọn không khớp với số trên trang đăng nhập. Yêu cầu đăng nhập đã bị huỷ để bảo vệ tài khoản.") \
  XX(SERVER_BUSY, "server_busy", "the server holds its maximum of live login codes", "Hệ thống đang phục vụ quá nhiều lượt đăng nhập cùng lúc. Vui lòng thử lại sau ít phút.") \
  XX(BAD_HOST, "bad_host", "the request's Host is not one this server answers for", "Địa chỉ truy cập không đúng. Vui lòng mở trang đăng nhập từ địa chỉ chính thức của cổng dịch vụ.") \
  XX(TOO_MANY_CHALLENGES_IP, "too_many_challenges_ip", "too many live login codes from this network (IP address, or IPv6 /64)", "Có quá nhiều trang đăng nhập đang mở từ cùng mạng của bạn. Vui lòng đóng các trang đăng nhập không dùng đến hoặc thử lại sau ít phút.") \
  XX(BAD_REQUEST, "bad_request", "the HTTP request's framing is ambiguous or malformed (Transfer-Encoding, Content-Length)", "Yêu cầu gửi lên không đúng định dạng.") \
  XX(WEB_SESSION_UNKNOWN, "web_session_unknown", "no such web session of this account, or it has already ended", "Không tìm thấy phiên đăng nhập này của bạn, hoặc phiên đã kết thúc.") \
  XX(BAD_PROVINCE, "invalid_province_code", "the citizen ID's first 3 digits are not a province code", "Mã tỉnh, thành phố nơi đăng ký khai sinh (3 chữ số đầu) của số định danh cá nhân không đúng. Vui lòng kiểm tra lại số trên thẻ căn cước.") \
  XX(ACCOUNTS_CLOSED, "citizen_accounts_closed", "new citizen portal accounts are no longer made (since the accounts-close date)", "Từ ngày 15/6/2024, công dân đăng ký, đăng nhập Cổng Dịch vụ công quốc gia bằng tài khoản định danh điện tử VNeID; Bộ phận một cửa không còn tạo tài khoản cho công dân trên Cổng. Tổ chức, doanh nghiệp vẫn được cấp tài khoản.") \
  XX(BROWSER_GONE, "browser_gone", "the login page's server is gone (its node stopped): the page must show a new code", "Trang đăng nhập trên máy tính đã mất kết nối với hệ thống nên không hoàn tất được đăng nhập. Bạn vẫn đang đăng nhập trên ứng dụng; vui lòng quét mã QR mới trên trang đăng nhập.") \
  XX(OIDC_OTHER_BROWSER, "oidc_other_browser", "the login request was started in another browser: its binding cookie is missing or different", "Yêu cầu đăng nhập này được bắt đầu trên một trình duyệt khác. Vì an toàn cho tài khoản của bạn, hãy quay lại trang của cổng dịch vụ muốn dùng và bấm Đăng nhập lại từ đầu.")

/* The error type. QRL_OK is zero; every other value is a failure. */
typedef enum qrl_err {
#define QRL_ERR_ENUM(name, code, en, vi) QRL_##name,
  QRL_ERRNO_MAP(QRL_ERR_ENUM)
#undef QRL_ERR_ENUM
  QRL_ERR__COUNT
} qrl_err;

/* Returns the English description of err for logs; never NULL. */
const char *qrl_strerror(qrl_err err);

/* Returns the stable machine-readable wire code ("bad_json"); never NULL. */
const char *qrl_err_code(qrl_err err);

/* Returns the Vietnamese message for citizens (UTF-8); never NULL. */
const char *qrl_err_message_vi(qrl_err err);

/* Returns the error whose wire code is code, or QRL_PROTOCOL if none is.
 * Several internal errors share "internal"; that maps back to QRL_INTERNAL. */
qrl_err qrl_err_from_code(const char *code);

#endif /* QRLOGIN_ERROR_H */
