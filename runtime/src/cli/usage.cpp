#include "cli/usage.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "linux/early_reexec.h"
#include "util/log.h"

#ifndef GLASSRUN_COMMIT
#define GLASSRUN_COMMIT "unknown"
#endif

namespace glassrun::cli {

namespace {

constexpr const char* kSpecVersion = "1.0.2";  // the runtime-spec version glassrun implements

// runc's ArgsUsage of each command, the part of USAGE after the flags.
const std::map<std::string, std::string>& args_usage() {
  static const std::map<std::string, std::string> m = {
      {"create", "<container-id>"},
      {"start", "<container-id>"},
      {"run", "<container-id>"},
      {"exec", "<container-id> <command> [command options]  || -p process.json <container-id>"},
      {"state", "<container-id>"},
      {"kill", "<container-id> [signal]"},
      {"delete", "<container-id>"},
      {"list", ""},
      {"ps", "<container-id> [ps options]"},
      {"pause", "<container-id>"},
      {"resume", "<container-id>"},
      {"update", "<container-id>"},
      {"events", "<container-id>"},
      {"spec", "[arguments...]"},
      {"features", "[arguments...]"},
  };
  return m;
}

// Two columns as urfave/cli's tabwriter lays them out: names padded to the
// widest plus two spaces, indented by three.
std::string columns(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [name, text] : rows) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, text] : rows) out += fmt::format("   {:<{}}  {}\n", name, width, text);
  return out;
}

// "--log value", "--tty, -t", "--format value, -f value", with the default.
std::pair<std::string, std::string> option_row(const CLI::Option& o) {
  const char* value = o.get_expected_max() == 0 ? "" : " value";  // flags expect no value
  std::string names;
  for (const auto& l : o.get_lnames()) names += (names.empty() ? "--" : ", --") + l + value;
  for (const auto& s : o.get_snames()) names += (names.empty() ? "-" : ", -") + s + value;
  std::string text = o.get_description();
  if (const auto& d = o.get_default_str(); !d.empty() && *value) text += fmt::format(" (default: \"{}\")", d);
  return {names, text};
}

std::vector<std::pair<std::string, std::string>> option_rows(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const CLI::Option* o : app.get_options())
    if (o != app.get_help_ptr() && o != app.get_version_ptr() && !o->get_positional()) rows.push_back(option_row(*o));
  return rows;
}

const CLI::App* find_command(const CLI::App& app, const std::string& name) {
  auto found = app.get_subcommands([&](const CLI::App* s) { return s->check_name(name); });
  return found.empty() ? nullptr : found.front();
}

std::string app_help(const CLI::App& app) {
  std::string name = app.get_name();
  std::string out = fmt::format("NAME:\n   {} - {}\n\n", name, app.get_description());
  out += fmt::format(
      "{0} speaks runc's command line and keeps runc's state layout; each step it takes\n"
      "is a USDT probe (see --trace) and, with --debug, a log line.\n\n",
      name);
  out += fmt::format("USAGE:\n   {} [global options] command [command options] [arguments...]\n\n", name);
  out += fmt::format("VERSION:\n   {}\ncommit: {}\nspec: {}\n\n", GLASSRUN_VERSION, GLASSRUN_COMMIT, kSpecVersion);
  std::vector<std::pair<std::string, std::string>> commands;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    commands.emplace_back(s->get_name(), s->get_description());
  commands.emplace_back("help, h", "Shows a list of commands or help for one command");
  out += "COMMANDS:\n" + columns(commands) + "\n";
  auto options = option_rows(app);
  options.emplace_back("--help, -h", "show help");
  options.emplace_back("--version, -v", "print the version");
  out += "GLOBAL OPTIONS:\n" + columns(options);
  return out;
}

std::string command_help(const CLI::App& app, const CLI::App& sub) {
  std::string full = app.get_name() + " " + sub.get_name();
  auto options = option_rows(sub);
  auto it = args_usage().find(sub.get_name());
  std::string args = it == args_usage().end() ? "[arguments...]" : it->second;
  std::string out = fmt::format("NAME:\n   {} - {}\n\n", full, sub.get_description());
  out += fmt::format("USAGE:\n   {}{} {}\n", full, options.empty() ? "" : " [command options]", args);
  if (!options.empty()) out += "\nOPTIONS:\n" + columns(options) + "   \n";
  return out;
}

// Each subcommand's parser, by the names that select it. Building all of them
// takes ~175 KiB of heap (CLI11 objects per option), and each page of it a
// fault on the path of every container start; a command builds only the
// parser it was named by (help, unknown words and no word: all of them).
struct CommandParsers {
  std::array<std::string_view, 3> names;
  void (*add)(CLI::App&, Globals&, Action&);
};
constexpr CommandParsers kCommandParsers[] = {
    {{"create"}, add_create},   {{"start"}, add_start},   {{"run"}, add_run},
    {{"state"}, add_state},     {{"kill"}, add_kill},     {{"delete"}, add_delete},
    {{"list", "ls"}, add_list}, {{"spec"}, add_spec},     {{"features"}, add_features},
    {{"exec"}, add_exec},       {{"pause", "resume", "ps"}, add_cgroup_commands},
    {{"events", "update"}, add_events_update},
};

}  // namespace

std::string version_text() {
  return fmt::format("glassrun version {}\ncommit: {}\nspec: {}", GLASSRUN_VERSION, GLASSRUN_COMMIT, kSpecVersion);
}

std::string help_text(const CLI::App& app, const CLI::App* sub) {
  return sub ? command_help(app, *sub) : app_help(app);
}

bool global_flag_takes_value(const char* arg) { return early::global_flag_takes_value(arg); }

std::optional<int> handle_help_topics(const CLI::App& app, int argc, char** argv) {
  auto no_topic = [](const std::string& topic) {
    log::error(fmt::format("No help topic for '{}'", topic));
    return 3;  // runc's exit code for it
  };
  bool asks_help_or_version = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (a[0] == '-') {
      for (const char* f : {"-h", "--help", "-v", "--version"})
        if (!strcmp(a, f)) asks_help_or_version = true;
      if (global_flag_takes_value(a)) ++i;
      continue;
    }
    std::string word = a;
    if (word == "help" || word == "h") {
      const CLI::App* sub = nullptr;
      if (i + 1 < argc && !(sub = find_command(app, argv[i + 1]))) return no_topic(argv[i + 1]);
      fmt::print("{}", help_text(app, sub));
      return 0;
    }
    if (!find_command(app, word)) return no_topic(word);
    return std::nullopt;
  }
  if (asks_help_or_version) return std::nullopt;
  fmt::print("{}", help_text(app, nullptr));  // no command: the help, as runc
  return 0;
}

std::string take_container_id(std::vector<std::string>& rest, const std::string& command) {
  bool after_dashes = !rest.empty() && rest[0] == "--";
  if (after_dashes) rest.erase(rest.begin());
  if (rest.empty()) throw CLI::ValidationError("container-id", command + " needs a container id");
  if (!after_dashes && rest[0].size() > 1 && rest[0][0] == '-')
    throw CLI::ValidationError(command, "flag provided but not defined: " + rest[0]);
  std::string id = rest.front();
  rest.erase(rest.begin());
  return id;
}

std::string_view named_command(int argc, char** argv) {
  bool traced;
  const char* c = early::named_command(argc, argv, &traced);
  return c ? std::string_view(c) : std::string_view();
}

void add_command_parsers(CLI::App& app, Globals& g, Action& action, std::string_view named) {
  for (const auto& c : kCommandParsers)
    if (!named.empty() && std::find(c.names.begin(), c.names.end(), named) != c.names.end()) return c.add(app, g, action);
  for (const auto& c : kCommandParsers) c.add(app, g, action);
}

}  // namespace glassrun::cli
