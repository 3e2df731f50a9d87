#include "cli/create_options.h"

namespace glassrun::cli {

void add_create(CLI::App& app, Globals& g, Action& action) {
  auto* o = new container::CreateOptions;
  auto* sub = app.add_subcommand("create", "create a container");
  add_create_flags(sub, *o);
  sub->callback([&g, o, &action] {
    action = [&g, o] {
      o->root = g.root;
      container::create(*o, false);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
