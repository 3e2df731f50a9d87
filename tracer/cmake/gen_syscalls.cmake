# Turns <asm/unistd_64.h> into a C++ table body: {nr, "name"},
# Run as: cmake -DIN=<header> -DOUT=<file> -P gen_syscalls.cmake
file(STRINGS ${IN} lines REGEX "^#define __NR_[a-z0-9_]+ [0-9]+$")
set(body "// Generated from ${IN}; do not edit.\n")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^#define __NR_([a-z0-9_]+) ([0-9]+)$" "{\\2, \"\\1\"},\n" entry "${line}")
  string(APPEND body "${entry}")
endforeach()
file(WRITE ${OUT} "${body}")
