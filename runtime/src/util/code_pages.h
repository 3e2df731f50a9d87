// This binary's code and read-only data, mapped in with one madvise.
#pragma once

namespace glassrun::code_pages {

// MADV_POPULATE_READ over the binary's text, rodata and relro: their page
// table entries made in one call. A forked or cloned child inherits none of
// them (file pages: fork copies no page table entries for them), so without
// this each 64 KiB of code it runs costs it a page fault, ~15 us on a PVM
// guest against ~0.1 ms for the whole 4 MiB at once (issue 18). Best effort:
// a kernel without MADV_POPULATE_READ (< 5.14) faults as before.
void map_in();

}  // namespace glassrun::code_pages
