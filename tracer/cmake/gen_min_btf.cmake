# Turns the minimised kernel BTF (bpftool gen min_core_btf) into a C++ table
# body, together with the identity of the kernel it was cut from: the loader
# uses it only on that very kernel (same release, build version and BTF size).
# Run as: cmake -DIN=<min.btf> -DBTF=<kernel BTF> -DOUT=<file> -P gen_min_btf.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
set(release "")
set(version "")
set(btf_size 0)
# Only the running kernel's BTF has a known identity (uname at build time).
if(BTF STREQUAL "/sys/kernel/btf/vmlinux")
  execute_process(COMMAND uname -r OUTPUT_VARIABLE release OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND uname -v OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(SIZE ${BTF} btf_size)
endif()
string(REPLACE "\"" "\\\"" version "${version}")
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.
constexpr const char kMinBtfRelease[] = \"${release}\";
constexpr const char kMinBtfVersion[] = \"${version}\";
constexpr long long kMinBtfKernelBtfSize = ${btf_size};
constexpr unsigned char kMinBtf[] = {${bytes}};
")
