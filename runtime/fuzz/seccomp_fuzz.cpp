// bytes → JSON → seccomp::compile. glassrun::Error is the only acceptable way
// to reject input; any other exception or crash is a bug.
#include <cstddef>
#include <cstdint>

#include "linux/seccomp.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return -1;  // not JSON: not interesting for the corpus
  try {
    auto filter = glassrun::seccomp::compile(json);
    filter->skipped_syscalls();
  } catch (const glassrun::Error&) {
  }
  return 0;
}
