# `cmake --install` and the Debian package (CPack): the program, its data
# under PREFIX/share/arcd (where an installed arcd finds it:
# src/config/layout.c), the settings, the systemd units, the documentation.
include(GNUInstallDirs)

install(TARGETS arcd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES config/viewer.html DESTINATION ${CMAKE_INSTALL_DATADIR}/arcd)
install(DIRECTORY config/pages config/mail DESTINATION ${CMAKE_INSTALL_DATADIR}/arcd)
install(DIRECTORY src/app/ DESTINATION ${CMAKE_INSTALL_DATADIR}/arcd/app)
# The viewer's scripts, with their brotli and gzip forms (scripts/vendor.sh):
# without them every viewer page fails, so an install without them fails.
install(CODE "
  foreach(f aframe.min.js mindar-image-aframe.prod.js)
    foreach(form \"\" .br .gz)
      if(NOT EXISTS \"${PROJECT_SOURCE_DIR}/var/vendor/\${f}\${form}\")
        message(FATAL_ERROR \"arcd: var/vendor/\${f}\${form} is missing: run scripts/vendor.sh first\")
      endif()
    endforeach()
  endforeach()")
install(DIRECTORY var/vendor/ DESTINATION ${CMAKE_INSTALL_DATADIR}/arcd/vendor
        FILES_MATCHING PATTERN "*.js" PATTERN "*.js.br" PATTERN "*.js.gz")
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES config/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME config.md)
install(DIRECTORY deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/deploy
        PATTERN "debian" EXCLUDE PATTERN "systemd" EXCLUDE)
# The settings file and the units name folders that depend on the prefix
# the install is made for (--prefix, or the package's /usr): made then.
install(CODE "
  set(ARCD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(ARCD_BUILD_DIR \"${PROJECT_BINARY_DIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/install_etc.cmake\")")

# ---- the Debian package: cpack -G DEB in the build folder ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME arcd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "AR marker compile daemon for living photos (MindAR 1.2.5)")
set(CPACK_PACKAGE_DESCRIPTION "arcd turns a customer's photo and video into a WebAR living \
photo: a MindAR 1.2.5 image target, a phone-ready video, a viewer page and a QR code, through \
an HTTP API with a PostgreSQL job queue.")
set(CPACK_PACKAGE_CONTACT "arcd maintainers <arcd@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# DESTDIR staging, so that the install sees the prefix /usr (and puts the
# settings in /etc).
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Besides the libraries (found by dpkg-shlibdeps): the user's creation,
# pg_dump for backups, a font with Cyrillic for the print sheet's caption.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, postgresql-client, fonts-dejavu-core")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql, caddy | nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
