/*
 * test_uuid.c - flow ids: version-4 UUID text from libuuid, well-formed and
 * distinct; the validator refuses near misses.
 */
#include <string.h>

#include "test.h"
#include "helpers/uuid.h"

TEST(new_uuids_are_v4_and_distinct) {
  static char seen[1000][QRL_UUID_STRLEN + 1];
  for (int i = 0; i < 1000; i++) {
    ASSERT_ERR(qrl_uuid_v4(seen[i]), QRL_OK);
    ASSERT_EQ_INT(strlen(seen[i]), QRL_UUID_STRLEN);
    ASSERT_TRUE(qrl_uuid_valid(seen[i]));
    for (int j = 0; j < i; j++) ASSERT_NE_STR(seen[i], seen[j]);
  }
  return 0;
}

TEST(validator_refuses_near_misses) {
  ASSERT_TRUE(qrl_uuid_valid("3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5b"));
  ASSERT_FALSE(qrl_uuid_valid("3F2B8C1E-9D4A-4B7E-8A6F-0C1D2E3F4A5B")); /* upper */
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e-9d4a-1b7e-8a6f-0c1d2e3f4a5b")); /* v1 */
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e-9d4a-4b7e-ca6f-0c1d2e3f4a5b")); /* variant */
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e9d4a-4b7e-8a6f-0c1d2e3f4a5b-"));
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5"));
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5bb"));
  ASSERT_FALSE(qrl_uuid_valid("3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5g"));
  ASSERT_FALSE(qrl_uuid_valid(""));
  ASSERT_FALSE(qrl_uuid_valid(NULL));
  return 0;
}

TEST_MAIN(new_uuids_are_v4_and_distinct, validator_refuses_near_misses)
