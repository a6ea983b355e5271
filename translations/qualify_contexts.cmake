# cmake -DIN=<file.ts> -DOUT=<file.ts> -DPREFIX=archivist::ui:: -P qualify_contexts.cmake
# Copies a .ts file, prefixing every unqualified context name with PREFIX (see ui/CMakeLists.txt:
# lupdate's parser drops the namespace of `namespace a::b {` classes). Names that already
# contain "::" are left alone, so this keeps working once lupdate gets them right.
if(NOT IN OR NOT OUT OR NOT PREFIX)
  message(FATAL_ERROR "qualify_contexts.cmake needs -DIN, -DOUT and -DPREFIX")
endif()
file(READ "${IN}" text)
string(REGEX REPLACE "<name>([A-Za-z_][A-Za-z0-9_]*)</name>" "<name>${PREFIX}\\1</name>" text "${text}")
file(WRITE "${OUT}" "${text}")
