// events and update: the cgroup commands that read stats and change limits.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "container/loaded.h"
#include "util/error.h"

namespace glassrun::cli {

namespace {

// "5s", "500ms", "1m" → milliseconds.
long parse_interval(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) throw Error(fmt::format("events: --interval: invalid duration \"{}\"", text));
  double n = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  double ms = unit == "ms" ? n : unit == "s" || unit.empty() ? n * 1000 : unit == "m" ? n * 60000 : -1;
  if (ms <= 0) throw Error(fmt::format("events: --interval: invalid duration \"{}\"", text));
  return static_cast<long>(ms);
}

nlohmann::json event(const std::string& type, const std::string& id, nlohmann::json data) {
  nlohmann::json e{{"type", type}, {"id", id}};
  if (!data.is_null()) e["data"] = std::move(data);
  return e;
}

void add_events(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* stats = new bool(false);
  auto* interval = new std::string("5s");
  auto* sub = app.add_subcommand("events", "print container events (stats, oom) as JSON lines");
  sub->add_option("container-id", *id)->required();
  sub->add_flag("--stats", *stats, "print the stats once and exit");
  sub->add_option("--interval", *interval, "time between stats (default 5s)");
  sub->callback([&g, id, stats, interval, &action] {
    action = [&g, id, stats, interval] {
      long ms = parse_interval(*interval);
      auto c = container::Loaded::open(g.root, *id);
      if (c.status() == state::Status::Stopped) throw Error("container not running");
      if (*stats) {
        fmt::print("{}\n", event("stats", *id, c.cg->stats()).dump());
        return 0;
      }
      unsigned long ooms = c.cg->oom_kill_count();
      long waited = 0;
      // Stats every interval; OOM kills as soon as we see them (polled often).
      while (c.status() != state::Status::Stopped) {
        unsigned long now = c.cg->oom_kill_count();
        if (now > ooms) {
          fmt::print("{}\n", event("oom", *id, nullptr).dump());
          std::fflush(stdout);
          ooms = now;
        }
        if (waited >= ms) {
          fmt::print("{}\n", event("stats", *id, c.cg->stats()).dump());
          std::fflush(stdout);
          waited = 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        waited += 100;
      }
      // An OOM kill of the init stops the container within the same poll
      // interval: look once more, or that kill would never be reported.
      if (c.cg->oom_kill_count() > ooms) fmt::print("{}\n", event("oom", *id, nullptr).dump());
      return 0;
    };
  });
}

// "512m", "1G", "1048576" → bytes; "-1" stays -1 (unlimited).
int64_t parse_bytes(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) throw Error(fmt::format("update: {}: invalid size \"{}\"", flag, text));
  int64_t n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  int shift = unit.empty() ? 0 : unit == "k" ? 10 : unit == "m" ? 20 : unit == "g" ? 30 : unit == "t" ? 40 : -1;
  if (shift < 0) throw Error(fmt::format("update: {}: invalid size \"{}\"", flag, text));
  return n << shift;
}

int64_t parse_int(const std::string& flag, const std::string& text) {
  try {
    size_t used;
    int64_t v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (...) {
  }
  throw Error(fmt::format("update: {}: invalid number \"{}\"", flag, text));
}

struct UpdateFlags {
  std::string id, resources_file;
  std::map<std::string, std::string> values;  // flag → text, only those given
};

// Merges the flags into the container's current linux.resources, as runc does.
nlohmann::json merged_resources(const nlohmann::json& current, const UpdateFlags& f) {
  nlohmann::json r = current.is_object() ? current : nlohmann::json::object();
  if (!f.resources_file.empty()) {
    std::stringstream text;
    if (f.resources_file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(f.resources_file);
      if (!in) throw_sys(fmt::format("update: --resources: open {}", f.resources_file));
      text << in.rdbuf();
    }
    nlohmann::json given;
    try {
      given = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("update: --resources: invalid JSON: {}", e.what()));
    }
    if (!given.is_object()) throw Error("update: --resources: must be a JSON object");
    r.merge_patch(given);
  }
  auto has = [&](const char* k) { return f.values.count(k) > 0; };
  auto val = [&](const char* k) { return f.values.at(k); };
  if (has("memory")) r["memory"]["limit"] = parse_bytes("--memory", val("memory"));
  if (has("memory-swap")) r["memory"]["swap"] = parse_bytes("--memory-swap", val("memory-swap"));
  if (has("memory-reservation"))
    r["memory"]["reservation"] = parse_bytes("--memory-reservation", val("memory-reservation"));
  if (has("cpu-shares")) r["cpu"]["shares"] = parse_int("--cpu-shares", val("cpu-shares"));
  if (has("cpu-quota")) r["cpu"]["quota"] = parse_int("--cpu-quota", val("cpu-quota"));
  if (has("cpu-period")) r["cpu"]["period"] = parse_int("--cpu-period", val("cpu-period"));
  if (has("cpuset-cpus")) r["cpu"]["cpus"] = val("cpuset-cpus");
  if (has("cpuset-mems")) r["cpu"]["mems"] = val("cpuset-mems");
  if (has("pids-limit")) r["pids"]["limit"] = parse_int("--pids-limit", val("pids-limit"));
  if (has("blkio-weight")) r["blockIO"]["weight"] = parse_int("--blkio-weight", val("blkio-weight"));
  return r;
}

void add_update(CLI::App& app, Globals& g, Action& action) {
  auto* f = new UpdateFlags;
  auto* sub = app.add_subcommand("update", "change the resource limits of a container");
  sub->add_option("container-id", f->id)->required();
  sub->add_option("-r,--resources", f->resources_file, "JSON file of linux.resources, or - for stdin");
  for (const char* name : {"memory", "memory-swap", "memory-reservation", "cpu-shares", "cpu-quota", "cpu-period",
                           "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight"}) {
    sub->add_option_function<std::string>(std::string("--") + name,
                                          [f, name](const std::string& v) { f->values[name] = v; });
  }
  sub->callback([&g, f, &action] {
    action = [&g, f] {
      auto c = container::Loaded::open(g.root, f->id);
      if (c.status() == state::Status::Stopped) throw Error("container not running");
      nlohmann::json& lin = c.extras.oci_config["linux"];
      nlohmann::json merged = merged_resources(lin.value("resources", nlohmann::json::object()), *f);
      c.cg->apply_resources(merged);
      // Saved, so the next update merges with what is in force now.
      lin["resources"] = merged;
      c.dir.write_extras(c.extras);
      return 0;
    };
  });
}

}  // namespace

void add_events_update(CLI::App& app, Globals& g, Action& action) {
  add_events(app, g, action);
  add_update(app, g, action);
}

}  // namespace glassrun::cli
