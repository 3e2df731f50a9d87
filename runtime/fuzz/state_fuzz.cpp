// state.json text → state::parse_state_json. glassrun::Error is the only
// acceptable way to reject input; anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "state/state.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    glassrun::state::parse_state_json(text);
  } catch (const glassrun::Error&) {
  }
  return 0;
}
