// events and update: the cgroup commands that read stats and change limits.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "container/loaded.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"

namespace glassrun::cli {

namespace {

// A Go duration ("5s", "100ms", "1m30s", "1.5h", "250us") → nanoseconds, as
// runc's --interval flag takes it; nullopt when Go's time.ParseDuration
// would refuse it.
std::optional<int64_t> parse_go_duration(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {{"ns", 1},    {"us", 1e3},   {"\u00b5s", 1e3}, {"\u03bcs", 1e3},
                                                          {"ms", 1e6},  {"s", 1e9},    {"m", 60e9},      {"h", 3600e9}};
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (text.substr(i) == "0") return 0;
  if (i == text.size()) return std::nullopt;
  double total = 0;
  while (i < text.size()) {
    size_t num_start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    std::string number = text.substr(num_start, i - num_start);
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) return std::nullopt;
    size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    const double* scale = nullptr;
    for (const auto& [name, ns] : kUnits)
      if (unit == name) scale = &ns;
    if (!scale) return std::nullopt;  // Go: "missing unit" or "unknown unit"
    total += std::stod(number) * *scale;
  }
  if (total > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(negative ? -total : total);
}

// runc's types.Event: {"type","id","data"}, data left out when absent.
nlohmann::ordered_json event(const std::string& type, const std::string& id, nlohmann::ordered_json data = nullptr) {
  nlohmann::ordered_json e{{"type", type}, {"id", id}};
  if (!data.is_null()) e["data"] = std::move(data);
  return e;
}

nlohmann::ordered_json stats_event(const container::Loaded& c) {
  nlohmann::ordered_json data = c.cg->stats();
  // The rest of runc's types.Stats: glassrun has no Intel RDT and, like runc
  // without a network namespace path to read, no interfaces.
  data["intel_rdt"] = nlohmann::ordered_json::object();
  data["network_interfaces"] = nullptr;
  return event("stats", c.st.id, std::move(data));
}

void add_events(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* stats = new bool(false);
  auto* interval = new std::string("5s");
  auto* sub = app.add_subcommand("events", "print container events (stats, oom) as JSON lines");
  sub->add_option("container-id", *id)->required();
  sub->add_flag("--stats", *stats, "print the stats once and exit");
  sub->add_option("--interval", *interval, "time between stats, a Go duration (default 5s)");
  sub->callback([&g, id, stats, interval, &action] {
    auto period = parse_go_duration(*interval);
    if (!period) throw CLI::ValidationError("--interval", fmt::format("invalid duration \"{}\"", *interval));
    action = [&g, id, stats, period] {
      auto c = container::Loaded::open(g.root, *id);
      if (*period <= 0) throw Error("duration interval must be greater than 0");
      if (c.status() == state::Status::Stopped) throw Error(fmt::format("container with id {} is not running", *id));
      if (*stats) {
        print_json(stats_event(c));
        return 0;
      }
      using Clock = std::chrono::steady_clock;
      const auto every = std::chrono::nanoseconds(*period);
      // OOM kills are looked for often, stats printed every interval (the
      // first one interval after the start, as runc's ticker).
      const auto poll = std::min<Clock::duration>(every, std::chrono::milliseconds(100));
      auto next_stats = Clock::now() + every;
      unsigned long ooms = c.cg->oom_kill_count();
      while (c.status() != state::Status::Stopped) {
        if (unsigned long now = c.cg->oom_kill_count(); now > ooms) {
          print_json(event("oom", *id));
          ooms = now;
        }
        if (Clock::now() >= next_stats) {
          print_json(stats_event(c));
          next_stats += every;
        }
        std::this_thread::sleep_until(std::min(next_stats, Clock::now() + poll));
      }
      // An OOM kill of the init stops the container within the same poll
      // interval: look once more, or that kill would never be reported.
      if (c.cg->oom_kill_count() > ooms) print_json(event("oom", *id));
      return 0;
    };
  });
}

// docker/go-units RAMInBytes, as runc's update: "512m", "1.5G", "10MiB",
// "1024" → bytes (binary multiples); "-1" stays -1 (unlimited).
int64_t parse_bytes(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  auto invalid = [&] { return Error(fmt::format("invalid value for {}: invalid size: '{}'", flag, text)); };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || (i > 0 && text[i] == '.'))) ++i;
  if (i == 0 || text[i - 1] == '.') throw invalid();
  double n = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (unit.size() == 2 && unit.back() == 'i') unit.pop_back();
  static const std::string kPrefixes = "kmgtp";
  if (unit.size() > 1 || (unit.size() == 1 && kPrefixes.find(unit[0]) == std::string::npos)) throw invalid();
  size_t power = unit.empty() ? 0 : kPrefixes.find(unit[0]) + 1;
  return static_cast<int64_t>(n * static_cast<double>(1ull << (10 * power)));
}

// strconv.ParseUint / ParseInt, base 10, with runc's message.
int64_t parse_number(const std::string& flag, const std::string& text, bool is_unsigned) {
  size_t used = 0;
  try {
    if (is_unsigned && !text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
      if (uint64_t v = std::stoull(text, &used); used == text.size()) return static_cast<int64_t>(v);
    if (!is_unsigned)
      if (int64_t v = std::stoll(text, &used); used == text.size()) return v;
  } catch (const std::out_of_range&) {
    throw Error(fmt::format("invalid value for {}: parsing \"{}\": value out of range", flag, text));
  } catch (const std::invalid_argument&) {
  }
  throw Error(fmt::format("invalid value for {}: parsing \"{}\": invalid syntax", flag, text));
}

struct UpdateFlags {
  std::string id, resources_file;
  std::map<std::string, std::string> values;  // flag → text, only those given
};

// runc's update flags: name, where the value goes in linux.resources, its kind.
enum class Kind { Bytes, Unsigned, Signed, Text, Int };
struct UpdateFlag {
  const char* name;
  const char* section;
  const char* field;
  Kind kind;
};
constexpr UpdateFlag kUpdateFlags[] = {
    {"blkio-weight", "blockIO", "weight", Kind::Int},
    {"cpu-period", "cpu", "period", Kind::Unsigned},
    {"cpu-quota", "cpu", "quota", Kind::Signed},
    {"cpu-share", "cpu", "shares", Kind::Unsigned},
    {"cpu-rt-period", "cpu", "realtimePeriod", Kind::Unsigned},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", Kind::Signed},
    {"cpuset-cpus", "cpu", "cpus", Kind::Text},
    {"cpuset-mems", "cpu", "mems", Kind::Text},
    {"kernel-memory", "memory", "kernel", Kind::Bytes},
    {"kernel-memory-tcp", "memory", "kernelTCP", Kind::Bytes},
    {"memory", "memory", "limit", Kind::Bytes},
    {"memory-reservation", "memory", "reservation", Kind::Bytes},
    {"memory-swap", "memory", "swap", Kind::Bytes},
    {"pids-limit", "pids", "limit", Kind::Int},
};

// The linux.resources fields runc's update takes from -r (the rest of the
// file is ignored, as runc ignores it).
const std::vector<std::pair<std::string, std::vector<std::string>>> kUpdatable = {
    {"memory", {"limit", "reservation", "swap", "kernel", "kernelTCP"}},
    {"cpu", {"shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"}},
    {"blockIO", {"weight"}},
    {"pids", {"limit"}},
};

nlohmann::json read_resources_file(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    text << fileio::read_file_or_throw(path);
  }
  nlohmann::json given;
  try {
    given = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: invalid JSON: {}", path == "-" ? "stdin" : path, e.what()));
  }
  if (!given.is_object()) throw Error(fmt::format("{}: must be a JSON object (linux.resources)", path));
  nlohmann::json r = nlohmann::json::object();
  for (const auto& [section, fields] : kUpdatable)
    if (given.contains(section) && given[section].is_object())
      for (const auto& field : fields)
        if (given[section].contains(field) && !given[section][field].is_null()) r[section][field] = given[section][field];
  if (given.contains("unified") && !given["unified"].is_null()) r["unified"] = given["unified"];
  return r;
}

// What this update asks for: only the fields given (with -r, the file's;
// else the flags'), so every other value stays as the kernel has it.
nlohmann::json requested_resources(const UpdateFlags& f, const nlohmann::json& saved) {
  nlohmann::json r = nlohmann::json::object();
  if (!f.resources_file.empty()) {
    r = read_resources_file(f.resources_file);  // as runc: the other flags are ignored
  } else {
    for (const auto& flag : kUpdateFlags) {
      auto it = f.values.find(flag.name);
      if (it == f.values.end()) continue;
      const std::string& v = it->second;
      nlohmann::json& dest = r[flag.section][flag.field];
      switch (flag.kind) {
        case Kind::Bytes: dest = parse_bytes(flag.name, v); break;
        case Kind::Unsigned: dest = parse_number(flag.name, v, true); break;
        case Kind::Signed: dest = parse_number(flag.name, v, false); break;
        case Kind::Text: dest = v; break;
        case Kind::Int:
          try {
            dest = parse_number(flag.name, v, false);
          } catch (const Error&) {
            throw Error(fmt::format("invalid value \"{}\" for flag -{}", v, flag.name));
          }
          break;
      }
    }
  }
  if (r.contains("memory")) {
    auto& m = r["memory"];
    if (m.value("kernel", int64_t{0}) != 0 || m.value("kernelTCP", int64_t{0}) != 0)
      log::warn("Kernel memory settings are ignored and will be removed");
    m.erase("kernel");
    m.erase("kernelTCP");
  }
  // runc: a quota without a period (or the reverse) keeps the other at its
  // saved value; v2's cpu.max takes both at once.
  if (r.contains("cpu")) {
    auto& cpu = r["cpu"];
    int64_t quota = cpu.value("quota", int64_t{0}), period = cpu.value("period", int64_t{0});
    const nlohmann::json old = saved.value("cpu", nlohmann::json::object());
    if (quota != 0 && period == 0 && old.value("period", int64_t{0}) != 0) cpu["period"] = old["period"];
    if (period != 0 && quota == 0 && old.value("quota", int64_t{0}) != 0) cpu["quota"] = old["quota"];
  }
  return r;
}

// runc's l3-cache-schema / mem-bw-schema checks; glassrun has no Intel RDT.
void check_intel_rdt(const UpdateFlags& f) {
  const std::pair<const char*, const char*> kinds[] = {
      {"l3-cache-schema", "Intel RDT/CAT: l3 cache schema is not enabled"},
      {"mem-bw-schema", "Intel RDT/MBA: memory bandwidth schema is not enabled"}};
  for (const auto& [flag, not_enabled] : kinds) {
    auto it = f.values.find(flag);
    if (it == f.values.end() || it->second.empty()) continue;
    const char* info = std::string(flag) == "l3-cache-schema" ? "/sys/fs/resctrl/info/L3" : "/sys/fs/resctrl/info/MB";
    if (access(info, F_OK) != 0) throw Error(not_enabled);
    throw Error(fmt::format("--{}: Intel RDT is not supported by glassrun", flag));
  }
}

void add_update(CLI::App& app, Globals& g, Action& action) {
  auto* f = new UpdateFlags;
  auto* sub = app.add_subcommand("update", "change the resource limits of a container");
  sub->add_option("container-id", f->id)->required();
  sub->add_option("-r,--resources", f->resources_file,
                  "JSON file of linux.resources, or - for stdin (the other flags are then ignored)");
  auto value_of = [f](const std::string& name) {
    return [f, name](const std::string& v) { f->values[name] = v; };
  };
  for (const auto& flag : kUpdateFlags) {
    std::string names = std::string("--") + flag.name;
    if (std::string(flag.name) == "cpu-share") names += ",--cpu-shares";  // glassrun's earlier spelling, kept
    sub->add_option_function<std::string>(names, value_of(flag.name));
  }
  sub->add_option_function<std::string>("--l3-cache-schema", value_of("l3-cache-schema"));
  sub->add_option_function<std::string>("--mem-bw-schema", value_of("mem-bw-schema"));
  sub->callback([&g, f, &action] {
    action = [&g, f] {
      auto c = container::Loaded::open(g.root, f->id);
      if (c.status() == state::Status::Stopped) throw Error("container not running");
      nlohmann::json& lin = c.extras.oci_config["linux"];
      if (!lin.contains("resources") || !lin["resources"].is_object()) lin["resources"] = nlohmann::json::object();
      nlohmann::json requested = requested_resources(*f, lin["resources"]);
      check_intel_rdt(*f);
      c.cg->update_resources(requested);
      // Saved, so a later update knows the quota and period in force.
      lin["resources"].merge_patch(requested);
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
