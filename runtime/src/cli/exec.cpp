#include "cli/cli.h"
#include "util/error.h"

namespace glassrun::cli {

void add_exec(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("exec", "run a process in a running container");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] () -> int { throw Error("exec: not implemented yet"); };
  });
}

}  // namespace glassrun::cli
