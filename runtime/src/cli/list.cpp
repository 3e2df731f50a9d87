#include "cli/cli.h"
#include "container/container.h"
#include "util/error.h"

namespace glassrun::cli {

namespace {
void print_table(const nlohmann::ordered_json& states) {
  // Columns as runc's tabwriter lays them out (min width 12, padding 3).
  std::vector<std::vector<std::string>> rows{{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& s : states)
    rows.push_back({s["id"], std::to_string(s["pid"].get<int>()), s["status"], s["bundle"], s["created"], s["owner"]});
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max({width[i], r[i].size() + 3, size_t(12)});
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? fmt::format("{:<{}}", r[i], width[i]) : r[i];
    fmt::print("{}\n", line);
  }
}
}  // namespace

void add_list(CLI::App& app, Globals& g, Action& action) {
  auto* format = new std::string("table");
  auto* quiet = new bool(false);
  auto* sub = app.add_subcommand("list", "list containers");
  sub->alias("ls");
  sub->add_option("-f,--format", *format, "table or json");
  sub->add_flag("-q,--quiet", *quiet, "print ids only");
  sub->callback([&g, format, quiet, &action] {
    action = [&g, format, quiet] {
      if (*format != "table" && *format != "json") throw Error(fmt::format("list: --format: invalid format \"{}\"", *format));
      auto states = container::list(g.root);
      if (*quiet) {
        for (const auto& s : states) fmt::print("{}\n", s["id"].get<std::string>());
      } else if (*format == "json") {
        print_json(states);
      } else {
        print_table(states);
      }
      return 0;
    };
  });
}

}  // namespace glassrun::cli
