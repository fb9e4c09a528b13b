# Runs at install time (cmake/install.cmake): the settings file and the
# systemd units for the prefix being installed to. A /usr install keeps its
# settings in /etc and its state in /var/lib/arcd; any other prefix, under
# itself (the same rule as src/config/layout.c).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ETC_DIR /etc/arcd)
  set(STATE_DIR /var/lib/arcd)
else()
  set(ETC_DIR ${CMAKE_INSTALL_PREFIX}/etc/arcd)
  set(STATE_DIR ${CMAKE_INSTALL_PREFIX}/var/lib/arcd)
endif()
set(BIN_DIR ${CMAKE_INSTALL_PREFIX}/bin)
set(DOC_DIR ${CMAKE_INSTALL_PREFIX}/share/doc/arcd)
set(out ${ARCD_BUILD_DIR}/install-etc)
file(MAKE_DIRECTORY ${out})

# The settings: the checkout's file, for a service behind a proxy on this
# machine, with no public URL yet (arcd refuses to start until it is set).
file(READ ${ARCD_SOURCE_DIR}/config/arcd.json text)
string(REPLACE "\"publicUrl\": \"http://127.0.0.1:8080\""
       "// Required: the https address phones open (https://ar.example.com).\n    \"publicUrl\": \"\""
       text "${text}")
string(REPLACE "\"trustedProxies\": []" "\"trustedProxies\": [\"127.0.0.1/32\", \"::1/128\"]"
       text "${text}")
string(FIND "${text}" "\"publicUrl\": \"\"" found)
if(found EQUAL -1)
  message(FATAL_ERROR "arcd: config/arcd.json's publicUrl line changed: update cmake/install_etc.cmake")
endif()
file(WRITE ${out}/arcd.json "${text}")
# An existing settings file is the operator's: a new one goes beside it.
if(EXISTS "$ENV{DESTDIR}${ETC_DIR}/arcd.json")
  file(RENAME ${out}/arcd.json ${out}/arcd.json.dist)
  file(INSTALL ${out}/arcd.json.dist DESTINATION ${ETC_DIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
else()
  file(INSTALL ${out}/arcd.json DESTINATION ${ETC_DIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
endif()

foreach(unit arcd.service arcd-backup.service)
  configure_file(${ARCD_SOURCE_DIR}/deploy/systemd/${unit}.in ${out}/${unit} @ONLY)
endforeach()
file(INSTALL ${out}/arcd.service ${out}/arcd-backup.service
     ${ARCD_SOURCE_DIR}/deploy/systemd/arcd-backup.timer
     DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
