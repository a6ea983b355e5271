# Finds the build's dependencies and, when one is missing, names the Debian 12 package to install
# instead of leaving the reader with "Could NOT find Qt6OpenGL (missing: Qt6OpenGL_DIR)".
#
# The Qt check walks what Qt's own package configs require: each Qt6<M>Dependencies.cmake lists
# the Qt packages it needs (__qt_<M>_target_deps, __qt_<M>_tool_deps), and each Qt6<M>Targets-*.cmake
# lists the files its imported targets must find (lrelease, moc, …). Debian's packages do not always
# pull these in (qt6-charts-dev does not depend on libqt6opengl6-dev, yet Qt6Charts requires
# Qt6OpenGL), so every missing one is reported with its package. Which file comes from which
# package was read off Debian 12 with `dpkg -S` (docs/dependencies.md tells how to redo it).

set(_archivist_install_hint "scripts/install-deps.sh installs them (`make run` and `make test` run it)")

# Qt package (the directory under lib/<triplet>/cmake) -> Debian 12 package shipping its Config.
set(_archivist_deb_Qt6 qt6-base-dev)
foreach(_m Core CoreTools Network Gui GuiTools DBus DBusTools Widgets WidgetsTools OpenGLWidgets Test
           Concurrent Sql Xml PrintSupport)
  set(_archivist_deb_Qt6${_m} qt6-base-dev)
endforeach()
set(_archivist_deb_Qt6OpenGL libqt6opengl6-dev)
set(_archivist_deb_Qt6WebSockets qt6-websockets-dev)
set(_archivist_deb_Qt6Charts qt6-charts-dev)
set(_archivist_deb_Qt6LinguistTools qt6-tools-dev)
# Files that imported targets require (basename -> package), where not the Config's own package.
foreach(_f moc rcc uic tracegen cmake_automoc_parser qlalr qtpaths qvkgen qdbuscpp2xml qdbusxml2cpp
           androiddeployqt androidtestrunner)
  set(_archivist_deb_file_${_f} qt6-base-dev-tools)
endforeach()
foreach(_f lrelease lupdate lconvert lrelease-pro lupdate-pro)
  set(_archivist_deb_file_${_f} qt6-l10n-tools)
endforeach()
set(_archivist_deb_file_lprodump qt6-tools-dev-tools)
set(_archivist_deb_file_x86_64-linux-gnu-qmake6 qmake6)

function(_archivist_missing_packages_error lines packages)
  list(REMOVE_DUPLICATES packages)
  list(JOIN packages " " pkgs)
  list(JOIN lines "\n  " text)
  message(FATAL_ERROR
    "Missing Debian packages — install ${pkgs}\n"
    "  ${text}\n"
    "(sudo apt-get install ${pkgs}; ${_archivist_install_hint}.)")
endfunction()

# archivist_find_qt(<component>...): find_package(Qt6 6.4 REQUIRED COMPONENTS …), after checking
# that every Qt package these components require, directly or through others, is installed.
macro(archivist_find_qt)
  _archivist_check_qt(${ARGN})
  find_package(Qt6 6.4 REQUIRED COMPONENTS ${ARGN})
endmacro()

function(_archivist_check_qt)
  find_package(Qt6 6.4 QUIET CONFIG)
  if(NOT Qt6_FOUND)
    _archivist_missing_packages_error("Qt6 6.4 (Qt6Config.cmake) was not found" "qt6-base-dev")
  endif()
  get_filename_component(cmake_dir "${Qt6_DIR}/.." ABSOLUTE)
  set(queue)
  foreach(c ${ARGN})
    list(APPEND queue "Qt6${c}|${CMAKE_CURRENT_SOURCE_DIR}/CMakeLists.txt")
  endforeach()
  set(seen)
  set(lines)
  set(packages)
  while(queue)
    list(POP_FRONT queue item)
    string(REPLACE "|" ";" item "${item}")
    list(GET item 0 pkg)
    list(GET item 1 by)
    if(pkg IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${pkg})
    set(deb "${_archivist_deb_${pkg}}")
    if(NOT deb)
      set(deb "the package with ${pkg}Config.cmake")
    endif()
    set(dir "${cmake_dir}/${pkg}")
    if(NOT EXISTS "${dir}/${pkg}Config.cmake")
      list(APPEND lines "${deb}: ${pkg} (required by ${by}) is not installed")
      list(APPEND packages ${deb})
      continue()
    endif()
    # Qt packages this one requires.
    string(REGEX REPLACE "^Qt6" "" m "${pkg}")
    if(EXISTS "${dir}/${pkg}Dependencies.cmake")
      file(STRINGS "${dir}/${pkg}Dependencies.cmake" deps
           REGEX "^set\\(__qt_${m}_(target|tool)_deps ")
      foreach(d ${deps})
        string(REGEX MATCHALL "Qt6[A-Za-z]+" names "${d}")
        foreach(n ${names})
          list(APPEND queue "${n}|${pkg}")
        endforeach()
      endforeach()
    endif()
    # Files its imported targets require (Qt's Targets file stops configure when one is missing).
    file(GLOB target_files "${dir}/${pkg}Targets-*.cmake")
    if(target_files AND EXISTS "${dir}/${pkg}Targets.cmake")
      # _IMPORT_PREFIX: the Targets file's directory, up once per get_filename_component after the first.
      file(STRINGS "${dir}/${pkg}Targets.cmake" ups REGEX "get_filename_component\\(_IMPORT_PREFIX")
      list(LENGTH ups n_ups)
      set(prefix "${dir}")
      foreach(i RANGE 2 ${n_ups})
        get_filename_component(prefix "${prefix}" DIRECTORY)
      endforeach()
      foreach(tf ${target_files})
        file(STRINGS "${tf}" checks REGEX "_cmake_import_check_files_for_")
        foreach(line ${checks})
          string(REGEX MATCHALL "\"\\\${_IMPORT_PREFIX}[^\"]*\"" files "${line}")
          foreach(f ${files})
            string(REPLACE "\"" "" f "${f}")
            string(REPLACE "\${_IMPORT_PREFIX}" "${prefix}" f "${f}")
            if(NOT EXISTS "${f}")
              get_filename_component(base "${f}" NAME)
              set(fdeb "${_archivist_deb_file_${base}}")
              if(NOT fdeb)
                set(fdeb "${deb}")
              endif()
              list(APPEND lines "${fdeb}: ${f} (needed by ${pkg}) is not installed")
              list(APPEND packages ${fdeb})
            endif()
          endforeach()
        endforeach()
      endforeach()
    endif()
  endwhile()
  if(packages)
    _archivist_missing_packages_error("${lines}" "${packages}")
  endif()
endfunction()

# archivist_find_pkgconfig(<PREFIX> <module> <debian-package>): pkg_check_modules(… IMPORTED_TARGET)
# that names the package when the module is missing.
macro(archivist_find_pkgconfig prefix module deb)
  if(NOT PKG_CONFIG_FOUND)
    find_package(PkgConfig QUIET)
    if(NOT PKG_CONFIG_FOUND)
      _archivist_missing_packages_error("pkg-config: the pkg-config command was not found" "pkg-config")
    endif()
  endif()
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
  if(NOT ${prefix}_FOUND)
    _archivist_missing_packages_error("${deb}: pkg-config module ${module} was not found" "${deb}")
  endif()
  message(STATUS "Found ${module} ${${prefix}_VERSION}")
endmacro()

# archivist_find_package(<Name> <debian-package> [find_package arguments…])
macro(archivist_find_package name deb)
  find_package(${name} QUIET ${ARGN})
  if(NOT ${name}_FOUND)
    _archivist_missing_packages_error("${deb}: CMake package ${name} was not found" "${deb}")
  endif()
endmacro()
