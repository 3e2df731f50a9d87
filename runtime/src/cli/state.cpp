#include "cli/cli.h"
#include "container/container.h"

namespace glassrun::cli {

void print_json(const std::string& text) { fmt::print("{}\n", nlohmann::json::parse(text).dump(2)); }

void add_state(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* sub = app.add_subcommand("state", "print the OCI state of a container");
  sub->add_option("container-id", *id)->required();
  sub->callback([&g, id, &action] {
    action = [&g, id] {
      fmt::print("{}\n", container::state(g.root, *id).dump(2));
      return 0;
    };
  });
}

}  // namespace glassrun::cli
