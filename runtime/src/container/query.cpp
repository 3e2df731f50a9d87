// `state` and `list`.
#include "container/container.h"
#include "container/loaded.h"
#include "util/error.h"

namespace glassrun::container {

nlohmann::json state(const std::string& root, const std::string& id) {
  Loaded c = Loaded::open(root, id);
  return state::oci_state(c.st, c.status());
}

nlohmann::json list(const std::string& root) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : state::list_ids(root)) {
    try {
      out.push_back(state(root, id));
    } catch (const Error&) {
      // A directory being created or removed right now: not a container yet.
    }
  }
  return out;
}

}  // namespace glassrun::container
