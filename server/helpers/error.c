/*
 * error.c - the tables behind qrl_err, all generated from QRL_ERRNO_MAP in
 * qrlogin/error.h: English text, wire code and Vietnamese message.
 */
#include "qrlogin/error.h"

#include <string.h>

#define ERR_EN(name, code, en, vi) en,
#define ERR_CODE(name, code, en, vi) code,
#define ERR_VI(name, code, en, vi) vi,
static const char *const err_en[] = {QRL_ERRNO_MAP(ERR_EN)};
static const char *const err_code[] = {QRL_ERRNO_MAP(ERR_CODE)};
static const char *const err_vi[] = {QRL_ERRNO_MAP(ERR_VI)};
#undef ERR_EN
#undef ERR_CODE
#undef ERR_VI

static qrl_err clamp(qrl_err err) {
  return (unsigned)err < QRL_ERR__COUNT ? err : QRL_INTERNAL;
}

const char *qrl_strerror(qrl_err err) { return err_en[clamp(err)]; }
const char *qrl_err_code(qrl_err err) { return err_code[clamp(err)]; }
const char *qrl_err_message_vi(qrl_err err) { return err_vi[clamp(err)]; }

qrl_err qrl_err_from_code(const char *code) {
  if (!code) return QRL_PROTOCOL;
  if (strcmp(code, "internal") == 0) return QRL_INTERNAL;
  for (int i = 0; i < QRL_ERR__COUNT; i++)
    if (strcmp(code, err_code[i]) == 0) return (qrl_err)i;
  return QRL_PROTOCOL;
}
