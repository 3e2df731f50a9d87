#include "cli/cli.h"
#include "container/container.h"

namespace glassrun::cli {

void print_json(const nlohmann::ordered_json& j, int indent) {
  fmt::print("{}\n", j.dump(indent));
  std::fflush(stdout);
}

void add_state(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* sub = app.add_subcommand("state", "print the OCI state of a container");
  sub->add_option("container-id", *id)->required();
  sub->callback([&g, id, &action] {
    action = [&g, id] {
      print_json(container::state(g.root, *id), 2);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
