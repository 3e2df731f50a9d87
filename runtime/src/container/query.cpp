// `state` and `list`.
#include <sys/stat.h>

#include <fstream>

#include "container/container.h"
#include "container/loaded.h"
#include "util/error.h"

namespace glassrun::container {

namespace {

// The user name of uid from /etc/passwd, or "#<uid>" (runc's list).
// /etc/passwd is read directly: a static glassrun has no NSS modules.
std::string user_name(uid_t uid) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':'), c2 = line.find(':', c1 + 1), c3 = line.find(':', c2 + 1);
    if (c3 == std::string::npos) continue;
    if (line.substr(c2 + 1, c3 - c2 - 1) == std::to_string(uid)) return line.substr(0, c1);
  }
  return "#" + std::to_string(uid);
}

}  // namespace

nlohmann::ordered_json state(const std::string& root, const std::string& id) {
  Loaded c = Loaded::open(root, id);
  return state::oci_state(c.st, c.status());
}

nlohmann::ordered_json list(const std::string& root) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& id : state::list_ids(root)) {
    try {
      auto s = state(root, id);
      struct stat st {};
      if (::stat((root + "/" + id).c_str(), &st) == 0) s["owner"] = user_name(st.st_uid);
      out.push_back(std::move(s));
    } catch (const Error&) {
      // A directory being created or removed right now: not a container yet.
    }
  }
  return out;
}

}  // namespace glassrun::container
