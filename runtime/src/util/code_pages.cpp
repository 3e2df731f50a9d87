#include "util/code_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

// GNU ld: where the executable's first segment starts, and where .data does
// (the read-only segments and relro come before it, contiguous).
extern "C" char __executable_start[], __data_start[];

namespace glassrun::code_pages {

void map_in() {
  const uintptr_t page = static_cast<uintptr_t>(getpagesize());
  uintptr_t from = reinterpret_cast<uintptr_t>(__executable_start) & ~(page - 1);
  uintptr_t to = reinterpret_cast<uintptr_t>(__data_start) & ~(page - 1);
  if (to > from) (void)madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_READ);
}

}  // namespace glassrun::code_pages
