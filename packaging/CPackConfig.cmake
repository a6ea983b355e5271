# `make package` (or `cpack` in the build directory): a .deb with the program, its desktop entry,
# its icon (scalable + 256x256) and its AppStream metadata. Runtime library dependencies come from
# dpkg-shlibdeps; Qt's own translations are a dependency too: the console's German catalogue
# covers its own texts, Qt's (qt6-translations-l10n: qtbase_de.qm) the buttons and dialogs Qt draws,
# which would otherwise stay English ("Cancel") in a German window.
install(FILES ${PROJECT_SOURCE_DIR}/resources/archivist.desktop DESTINATION share/applications)
install(FILES ${PROJECT_SOURCE_DIR}/resources/archivist.svg
        DESTINATION share/icons/hicolor/scalable/apps)
install(FILES ${PROJECT_SOURCE_DIR}/resources/archivist-256.png
        DESTINATION share/icons/hicolor/256x256/apps RENAME archivist.png)
install(FILES ${PROJECT_SOURCE_DIR}/resources/io.github.archivist.metainfo.xml DESTINATION share/metainfo)
# Help → Documentation opens these.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/archivist)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/archivist/docs)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "archivist")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Archivist developers")
set(CPACK_PACKAGE_VENDOR "Archivist developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Nostr archive with an operator console")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Nostr archive with an operator console\n"
  "Archivist connects to Nostr relays, verifies every event and keeps it in a compact,\n"
  "crash-safe archive with a searchable index. Its console shows relay health,\n"
  "throughput, memory, incidents and the archive's contents; it also runs headless.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)  # RelWithDebInfo builds carry ~50 MB of debug info
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-translations-l10n")  # dpkg-shlibdeps adds the libraries
include(CPack)
