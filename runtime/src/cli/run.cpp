#include "cli/create_options.h"

namespace glassrun::cli {

void add_run(CLI::App& app, Globals& g, Action& action) {
  auto* o = new container::CreateOptions;
  auto* detach = new bool(false);
  auto* sub = app.add_subcommand("run", "create and start a container, and wait for it");
  add_create_flags(sub, *o);
  sub->add_flag("-d,--detach", *detach, "detach from the container's process");
  auto* keep = new bool(false);
  sub->add_flag("--keep", *keep, "do not delete the container after it exits");
  sub->add_flag("--no-subreaper")->description("accepted for runc compatibility");
  sub->callback([&g, o, detach, keep, &action] {
    action = [&g, o, detach, keep]() -> int {
      o->root = g.root;
      exit_now(container::run(*o, *detach, *keep));
    };
  });
}

}  // namespace glassrun::cli
