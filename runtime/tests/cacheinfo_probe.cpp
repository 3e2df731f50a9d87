// Prints what glibc's start-up made of its cache probe: the cache parameters
// sysconf reports (computed once at start-up, from handle_intel's answers)
// and the string-function thresholds glibc derived from them.
// runtime/tests/test_glibc_cacheinfo.py compares this program as built with a
// copy patched like glassrun (linux/glibc_cacheinfo.h).
#include <unistd.h>

#include <cstdio>

// glibc's own (hidden, but in the same static link).
extern "C" long __x86_data_cache_size, __x86_shared_cache_size, __x86_shared_non_temporal_threshold,
    __x86_rep_movsb_threshold, __x86_rep_stosb_threshold, __x86_rep_movsb_stop_threshold;

int main() {
  for (int name = _SC_LEVEL1_ICACHE_SIZE; name <= _SC_LEVEL4_CACHE_LINESIZE; ++name)
    std::printf("sysconf %d %ld\n", name, sysconf(name));
  std::printf("data %ld shared %ld non_temporal %ld rep_movsb %ld rep_stosb %ld rep_movsb_stop %ld\n",
              __x86_data_cache_size, __x86_shared_cache_size, __x86_shared_non_temporal_threshold,
              __x86_rep_movsb_threshold, __x86_rep_stosb_threshold, __x86_rep_movsb_stop_threshold);
}
