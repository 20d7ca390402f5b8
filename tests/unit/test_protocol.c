/*
 * test_protocol.c - the public contract of include/qrlogin/: the QR payload
 * format, the canonical signed string, the ID and passcode validators and
 * the simulator's exit codes.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "qrlogin/error.h"
#include "qrlogin/protocol.h"
#include "test.h"

#define ID22 "QOdpmjAlNdeB7ZiGPkfBMA"
#define CODE16 "aImKioOpMJ73G2jh"

TEST(qr_payload_roundtrip_fits_the_budget) {
  char out[QRL_QR_PAYLOAD_MAX + 1];
  qrl_qr_payload in = {ID22, 1234, CODE16}, p;
  ASSERT_ERR(qrl_qr_payload_format(&in, out, sizeof(out)), QRL_OK);
  ASSERT_EQ_STR(out, "QRL2." ID22 ".1234." CODE16);
  ASSERT_TRUE(strlen(out) <= QRL_QR_PAYLOAD_MAX);
  ASSERT_TRUE(QRL_QR_PAYLOAD_MAX <= 80);
  ASSERT_ERR(qrl_qr_payload_parse(out, strlen(out), &p), QRL_OK);
  ASSERT_EQ_STR(p.id, ID22);
  ASSERT_EQ_INT(p.frame, 1234);
  ASSERT_EQ_STR(p.code, CODE16);
  in.frame = 0;
  ASSERT_ERR(qrl_qr_payload_format(&in, out, sizeof(out)), QRL_OK);
  ASSERT_ERR(qrl_qr_payload_parse(out, strlen(out), &p), QRL_OK);
  ASSERT_EQ_INT(p.frame, 0);
  /* Too small a buffer, malformed parts. */
  ASSERT_ERR(qrl_qr_payload_format(&in, out, 20), QRL_INVAL);
  in.frame = QRL_FRAME_MAX + 1;
  ASSERT_ERR(qrl_qr_payload_format(&in, out, sizeof(out)), QRL_INVAL);
  in.frame = 1;
  strcpy(in.code, "aImKioOpMJ73G2j+");
  ASSERT_ERR(qrl_qr_payload_format(&in, out, sizeof(out)), QRL_INVAL);
  return 0;
}

TEST(qr_payload_parse_refuses_everything_else) {
  static const char *const bad[] = {
      "",
      "QRL2.",
      "QRL1." ID22 ".1." CODE16,
      "qrl2." ID22 ".1." CODE16,
      "QRL2." ID22 "." CODE16,
      "QRL2." ID22 ".." CODE16,
      "QRL2." ID22 ".01." CODE16,
      "QRL2." ID22 ".-1." CODE16,
      "QRL2." ID22 ".1234567." CODE16,
      "QRL2." ID22 ".1x." CODE16,
      "QRL2." ID22 ".1." CODE16 ".",
      "QRL2." ID22 ".1." CODE16 "A",
      " QRL2." ID22 ".1." CODE16,
      "QRL2." ID22 ".1." CODE16 "\n",
      "QRL2." ID22 ".1.aImKioOpMJ73G2j",
      "QRL2." ID22 ".1.aImKioOpMJ73G2/h",
      "QRL2.QOdpmjAlNdeB7ZiGPkfBM.1." CODE16,
      "https://dichvucong.gov.vn/login?QRL2." ID22 ".1." CODE16,
  };
  qrl_qr_payload p;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qrl_qr_payload_parse(bad[i], strlen(bad[i]), &p) != QRL_BAD_QR)
      TEST_FAIL_("accepted \"%s\"", bad[i]);
  /* A NUL inside the given length is not the end of the text. */
  ASSERT_ERR(qrl_qr_payload_parse("QRL2." ID22 ".1\0" CODE16, 5 + 22 + 3 + 16, &p),
             QRL_BAD_QR);
  return 0;
}

/* The exact bytes both sides sign: any field change changes them. */
TEST(sign_string_is_canonical) {
  char a[512], b[512];
  size_t la = 0, lb = 0;
  qrl_qr_payload qp = {ID22, 7, CODE16}, other = qp;
  ASSERT_ERR(qrl_sign_string(&qp, "https://dichvucong.gov.vn", "001099012345", 42,
                             1795365332, QRL_DECISION_CONFIRM, a, sizeof(a), &la),
             QRL_OK);
  ASSERT_EQ_STR(a, "qrlogin.confirm.v2\n" ID22 "\n7\n" CODE16
                   "\nhttps://dichvucong.gov.vn\n001099012345\n42\n1795365332\nconfirm");
  ASSERT_EQ_INT(la, strlen(a));
  ASSERT_ERR(qrl_sign_string(&qp, "https://dichvucong.gov.vn", "001099012345", 0,
                             1795365332, QRL_DECISION_DECLINE, b, sizeof(b), &lb),
             QRL_OK);
  ASSERT_TRUE(strcmp(b + lb - 8, "\ndecline") == 0);
  ASSERT_ERR(qrl_sign_string(&qp, "https://dichvucong.gov.vn", "001099012345", 43,
                             1795365332, QRL_DECISION_CONFIRM, b, sizeof(b), &lb),
             QRL_OK);
  ASSERT_TRUE(strcmp(a, b) != 0); /* the number */
  other.frame = 8;
  ASSERT_ERR(qrl_sign_string(&other, "https://dichvucong.gov.vn", "001099012345", 42,
                             1795365332, QRL_DECISION_CONFIRM, b, sizeof(b), &lb),
             QRL_OK);
  ASSERT_TRUE(strcmp(a, b) != 0); /* the frame */
  ASSERT_ERR(qrl_sign_string(&qp, "https://evil.example", "001099012345", 42, 1795365332,
                             QRL_DECISION_CONFIRM, b, sizeof(b), &lb),
             QRL_OK);
  ASSERT_TRUE(strcmp(a, b) != 0);
  /* A newline inside a field could forge another field: refused. */
  ASSERT_ERR(qrl_sign_string(&qp, "https://a\n001099012345", "001099012345", 42, 1,
                             QRL_DECISION_CONFIRM, b, sizeof(b), &lb),
             QRL_INVAL);
  ASSERT_ERR(qrl_sign_string(&qp, "", "001099012345", 42, 1, QRL_DECISION_CONFIRM, b,
                             sizeof(b), &lb),
             QRL_INVAL);
  ASSERT_ERR(qrl_sign_string(&qp, "https://x", "001099012345", 100, 1,
                             QRL_DECISION_CONFIRM, b, sizeof(b), &lb),
             QRL_INVAL);
  ASSERT_ERR(qrl_sign_string(&qp, "https://dichvucong.gov.vn", "001099012345", 42,
                             1795365332, QRL_DECISION_CONFIRM, b, 20, &lb),
             QRL_NOMEM);
  return 0;
}

TEST(citizen_id_validator) {
  ASSERT_TRUE(qrl_citizen_id_valid("001099012345", 12));
  ASSERT_TRUE(qrl_citizen_id_valid("079199001234", 12));
  ASSERT_TRUE(qrl_citizen_id_valid("096299999999", 12));
  ASSERT_FALSE(qrl_citizen_id_valid("00109901234", 11));
  ASSERT_FALSE(qrl_citizen_id_valid("0010990123456", 13));
  ASSERT_FALSE(qrl_citizen_id_valid("00109901234a", 12));
  ASSERT_FALSE(qrl_citizen_id_valid("000099012345", 12)); /* province 000 */
  ASSERT_FALSE(qrl_citizen_id_valid("097099012345", 12)); /* province 097 */
  ASSERT_FALSE(qrl_citizen_id_valid("003099012345", 12)); /* 003: unassigned */
  ASSERT_FALSE(qrl_citizen_id_valid("078199001234", 12)); /* 078: unassigned */
  ASSERT_TRUE(qrl_citizen_id_valid("048299000001", 12));  /* Đà Nẵng, 21st c. */
  ASSERT_FALSE(qrl_citizen_id_valid("", 0));
  ASSERT_FALSE(qrl_citizen_id_valid("001099012345", 11));
  ASSERT_FALSE(qrl_citizen_id_valid("-01099012345", 12));
  /* What is wrong is said: the length/digits, or the province code. */
  ASSERT_ERR(qrl_citizen_id_check("001099012345", 12), QRL_OK);
  ASSERT_ERR(qrl_citizen_id_check("00109901234", 11), QRL_INVALID_ID);
  ASSERT_ERR(qrl_citizen_id_check("00109901234a", 12), QRL_INVALID_ID);
  ASSERT_ERR(qrl_citizen_id_check("000099012345", 12), QRL_BAD_PROVINCE);
  ASSERT_ERR(qrl_citizen_id_check("003099012345", 12), QRL_BAD_PROVINCE);
  ASSERT_ERR(qrl_citizen_id_check("097099012345", 12), QRL_BAD_PROVINCE);
  ASSERT_ERR(qrl_citizen_id_check(NULL, 0), QRL_INVALID_ID);
  return 0;
}

TEST(passcode_validator) {
  ASSERT_TRUE(qrl_passcode_valid("123456", 6));
  ASSERT_TRUE(qrl_passcode_valid("000000", 6));
  ASSERT_FALSE(qrl_passcode_valid("12345", 5));
  ASSERT_FALSE(qrl_passcode_valid("1234567", 7));
  ASSERT_FALSE(qrl_passcode_valid("12a456", 6));
  ASSERT_FALSE(qrl_passcode_valid(" 12345", 6));
  ASSERT_FALSE(qrl_passcode_valid("", 0));
  return 0;
}

TEST(simulator_exit_codes) {
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_OK), QRL_EXIT_OK);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_DECLINED_BY_USER), QRL_EXIT_DECLINED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_CHALLENGE_EXPIRED), QRL_EXIT_EXPIRED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_CHALLENGE_USED), QRL_EXIT_EXPIRED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_CHALLENGE_CANCELLED), QRL_EXIT_EXPIRED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_FRAME_STALE), QRL_EXIT_EXPIRED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_BAD_QR), QRL_EXIT_EXPIRED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_NOT_PERMITTED), QRL_EXIT_NOT_PERMITTED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_LEVEL_TOO_LOW), QRL_EXIT_NOT_PERMITTED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_WRONG_PASSCODE), QRL_EXIT_WRONG_PASSCODE);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_LOCKED), QRL_EXIT_LOCKED);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_SESSION_INVALID), QRL_EXIT_NOT_LOGGED_IN);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_NOT_LOGGED_IN), QRL_EXIT_NOT_LOGGED_IN);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_NETWORK), QRL_EXIT_NETWORK);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_BAD_CREDENTIALS), QRL_EXIT_BAD_CREDENTIALS);
  ASSERT_EQ_INT(qrl_sim_exit_for(QRL_BAD_SIGNATURE), QRL_EXIT_REFUSED);
  return 0;
}

/* The frame message is JSON a page parses, with the payload it draws. */
TEST(frame_message_is_the_payload_in_json) {
  qrl_qr_payload p, back;
  char msg[QRL_FRAME_MSG_MAX], small[40];
  const cJSON *qr;
  cJSON *o;
  size_t n;
  memset(&p, 0, sizeof(p));
  memcpy(p.id, "AbCdEfGhIjKlMnOpQrStUv", QRL_TOKEN_B64LEN);
  memcpy(p.code, "0123456789abcdef", QRL_FRAME_CODE_B64LEN);
  p.frame = QRL_FRAME_MAX;
  n = qrl_frame_message(&p, msg, sizeof(msg));
  ASSERT_TRUE(n > 0 && n == strlen(msg));
  ASSERT_TRUE((o = cJSON_Parse(msg)) != NULL);
  ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring, "frame");
  ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring, p.id);
  qr = cJSON_GetObjectItemCaseSensitive(o, "qr");
  ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(qr, "frame")->valuedouble == QRL_FRAME_MAX);
  {
    const char *pl = cJSON_GetObjectItemCaseSensitive(qr, "payload")->valuestring;
    ASSERT_ERR(qrl_qr_payload_parse(pl, strlen(pl), &back), QRL_OK);
    ASSERT_EQ_STR(back.code, p.code);
  }
  cJSON_Delete(o);
  ASSERT_TRUE(qrl_frame_message(&p, small, sizeof(small)) == 0); /* too small */
  p.code[3] = '"';                                               /* not base64url */
  ASSERT_TRUE(qrl_frame_message(&p, msg, sizeof(msg)) == 0);
  return 0;
}

TEST_MAIN(qr_payload_roundtrip_fits_the_budget, qr_payload_parse_refuses_everything_else,
          sign_string_is_canonical, citizen_id_validator, passcode_validator,
          simulator_exit_codes, frame_message_is_the_payload_in_json)
