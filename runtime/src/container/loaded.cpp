#include "container/loaded.h"

#include "util/error.h"

namespace glassrun::container {

Loaded Loaded::open(const std::string& root, const std::string& id) {
  auto dir = state::ContainerDir::open(root, id);
  state::State st = dir.read_state();
  state::Extras ex = dir.read_extras();
  return made(std::move(dir), std::move(st), std::move(ex));
}

Loaded Loaded::made(state::ContainerDir dir, state::State st, state::Extras extras) {
  auto cg = cgroups::from_state(st.cgroup_paths, extras.created_cgroups);
  return Loaded{std::move(dir), std::move(st), std::move(extras), std::move(cg)};
}

state::Status Loaded::status() const {
  // A freezer state that cannot be read (EIO) is reported, not taken for
  // "not paused"; a cgroup already gone reads as not frozen.
  return state::current_status(dir, st, [this] { return cg && cg->frozen(); });
}

std::string Loaded::state_json(state::Status s) const { return state::oci_state(st, s).dump(); }

spec::Hooks Loaded::hooks() const {
  if (extras.oci_config.is_null() || extras.oci_config.empty()) return {};
  try {
    return spec::parse_hooks(extras.oci_config);
  } catch (const Error&) {
    return {};
  }
}

}  // namespace glassrun::container
