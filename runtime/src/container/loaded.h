// A container as the commands after `create` see it: its directory, state
// and cgroups, loaded from <root>/<id>.
#pragma once

#include <memory>

#include "linux/cgroups.h"
#include "spec/config.h"
#include "state/state.h"

namespace glassrun::container {

struct Loaded {
  state::ContainerDir dir;
  state::State st;
  state::Extras extras;
  std::unique_ptr<cgroups::Manager> cg;

  static Loaded open(const std::string& root, const std::string& id);
  // What create just wrote, without reading it back (run goes on with it).
  static Loaded made(state::ContainerDir dir, state::State st, state::Extras extras);
  state::Status status() const;
  // The OCI state JSON (`state`, and hooks' stdin) with the given status.
  std::string state_json(state::Status s) const;
  // Hooks of the saved OCI config (e.g. poststart, poststop).
  spec::Hooks hooks() const;
};

}  // namespace glassrun::container
