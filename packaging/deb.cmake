# The Debian package (cpack -G DEB in the build directory): what `cmake
# --install` lays out, under /usr. Shared-library dependencies come from
# dpkg-shlibdeps (dpkg-dev, part of build-essential) - libcurl4 (OpenSSL
# flavour: back-channel logout's HTTP client) among them; the libuv
# event-loop plugin of libwebsockets is loaded at run time, so it is named
# here.
# tests/install/test_deb.sh builds, installs, uses and removes it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME qrlogin)
set(CPACK_PACKAGE_VENDOR "qrlogin developers")
set(CPACK_PACKAGE_CONTACT "qrlogin developers <qrlogin@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "QR cross-device login for the VNeID public-service portals")
set(CPACK_PACKAGE_DESCRIPTION
    "qrlogind serves a login page with an animated QR code that the VNeID phone\napp (or the vneid-sim simulator) scans and confirms with its device key,\nand the ID + password + SMS one-time code login. qrlogin-admin is the\noperator's tool on its SQLite database.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libwebsockets-evlib-uv, libcurl4")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/qrlogin/qrlogin")
# The qrlogin user and /var/lib/qrlogin on install; the state removed on purge.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_SOURCE_DIR}/packaging/postinst;${PROJECT_SOURCE_DIR}/packaging/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
include(CPack)
