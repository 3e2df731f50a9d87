#include "cli/create_options.h"

namespace glassrun::cli {

void add_run(CLI::App& app, Globals& g, Action& action) {
  auto* o = new container::CreateOptions;
  auto* detach = new bool(false);
  auto* sub = app.add_subcommand("run", "create and start a container, and wait for it");
  add_create_flags(sub, *o);
  sub->add_flag("-d,--detach", *detach, "detach from the container's process");
  sub->add_flag("--no-subreaper")->description("accepted for runc compatibility");
  sub->callback([&g, o, detach, &action] {
    action = [&g, o, detach] {
      o->root = g.root;
      return container::run(*o, *detach);
    };
  });
}

}  // namespace glassrun::cli
