# check_no_sql.cmake - SQL stays in the domain layer. Fails if a source
# outside server/domain/ includes the domain's private sql.h or pg.h, or names
# SQLite (sqlite3.h, sqlite3_*) or libpq (libpq-fe.h, PQ*()): glue, handlers, helpers, server/main.c, the
# operator tool (server/admin/) and the simulator use the domain modules'
# APIs. The compiler enforces half of it already (sql.h is on qrl_domain's
# private include path only); <sqlite3.h> is a system header, hence this.
#
#   cmake -DROOT=<source dir> -P tests/check_no_sql.cmake
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source dir> -P check_no_sql.cmake")
endif()
file(GLOB_RECURSE files RELATIVE ${ROOT}
  ${ROOT}/server/*.c ${ROOT}/server/*.h
  ${ROOT}/mobile-sim/*.c ${ROOT}/mobile-sim/*.h
  ${ROOT}/include/*.h)
set(checked 0)
set(bad "")
foreach(f ${files})
  if(f MATCHES "^server/domain/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${ROOT}/${f} hits REGEX "sqlite3|libpq|[^A-Za-z_]PQ[a-z]+\\(|#[ \t]*include[ \t]*[\"<]([^\">]*/)?(sql|pg)\\.h[\">]")
  foreach(h ${hits})
    string(STRIP "${h}" h)
    string(APPEND bad "  ${f}: ${h}\n")
  endforeach()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no sources found under ${ROOT}: wrong ROOT?")
endif()
if(bad)
  message(FATAL_ERROR "SQL outside server/domain (use a domain module's API):\n${bad}")
endif()
message(STATUS "${checked} sources outside server/domain: no SQL")
