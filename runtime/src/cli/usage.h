// The command line's own words, in runc's layout: help (`-h`, `help [topic]`),
// the version text, unknown commands, and the container id that follows a
// command's flags.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace glassrun::cli {

// `glassrun -v`: "glassrun version X", "commit: …", "spec: …".
std::string version_text();

// runc's help page for the app (sub == nullptr) or one of its commands.
std::string help_text(const CLI::App& app, const CLI::App* sub);

// Looks at the command word before parsing, as runc does: `help [topic]` and
// `h` print help; an unknown command (with or without -h) is "No help topic
// for 'foo'". Returns the exit code when that is all there is to do.
std::optional<int> handle_help_topics(const CLI::App& app, int argc, char** argv);

// Whether a global flag takes the next argument as its value (--root DIR).
bool global_flag_takes_value(const char* arg);

// The word argv names as the subcommand (the first one after the global
// flags and their values), or "" when there is none.
std::string_view named_command(int argc, char** argv);

// Adds the parser of the subcommand `named` selects (its name or alias), or
// of every subcommand when it selects none (help, unknown words, "").
void add_command_parsers(CLI::App& app, Globals& g, Action& action, std::string_view named);

// For commands that stop parsing at their first positional (exec, ps):
// takes the container id off the front of rest. A leading `--` is skipped; an
// unknown option there is an error, never an id.
std::string take_container_id(std::vector<std::string>& rest, const std::string& command);

}  // namespace glassrun::cli
