// Static executables: a C++ exception finds its unwind tables through the
// binary's own search table (PT_GNU_EH_FRAME), not through libgcc's
// registry of frame sections.
//
// In a -static link, gcc's crtbeginT.o registers the whole .eh_frame with
// libgcc's unwinder at start (__register_frame_info). The first exception
// thrown then makes libgcc decode and sort every FDE of the binary before
// the catch runs: ~1.3 ms in glassrun, 60 % of a `delete -f` of a missing
// container, and of every error a command reports (docs/BENCHMARKS.md,
// "Session 14"). Linked with --eh-frame-hdr, the binary carries a sorted
// table that libgcc finds through dl_iterate_phdr when nothing is
// registered, as in a dynamic executable. The static executables are
// linked with --wrap for both calls (runtime/CMakeLists.txt,
// glassrun_find_unwind_tables_by_header), so crtbeginT.o's calls come here
// and register nothing.
extern "C" {

void __wrap___register_frame_info(const void*, void*) {}

void* __wrap___deregister_frame_info(const void*) { return nullptr; }

}  // extern "C"
