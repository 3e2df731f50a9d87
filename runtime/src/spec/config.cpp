#include "spec/config.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>

#include "linux/capabilities.h"
#include "linux/mount_options.h"
#include "linux/rlimits.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/paths.h"

namespace glassrun::spec {

namespace {

using nlohmann::json;

// A field name as config.json spells it, for error messages.
struct Field {
  std::string path;
  Field operator[](const std::string& key) const { return {path.empty() ? key : path + "." + key}; }
  Field operator[](size_t i) const { return {fmt::format("{}[{}]", path, i)}; }
};

[[noreturn]] void bad(const Field& f, const std::string& what) {
  throw Error(fmt::format("config.json: {}: {}", f.path, what));
}

const char* type_name(const json& j) { return j.type_name(); }

const json* member(const json& obj, const char* key, const Field& f, json::value_t want) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  bool ok = it->type() == want ||
            (want == json::value_t::number_integer && it->is_number_unsigned()) ||
            (want == json::value_t::number_unsigned && it->is_number_integer() && it->get<int64_t>() >= 0);
  if (!ok && it->is_number() && (want == json::value_t::number_unsigned || want == json::value_t::number_integer))
    bad(f[key], fmt::format("must be {}, not {}",
                            want == json::value_t::number_unsigned ? "a non-negative integer" : "an integer", it->dump()));
  if (!ok) {
    const char* w = want == json::value_t::string    ? "string"
                    : want == json::value_t::boolean ? "boolean"
                    : want == json::value_t::array   ? "array"
                    : want == json::value_t::object  ? "object"
                                                     : "number";
    bad(f[key], fmt::format("must be a {}, not {}", w, type_name(*it)));
  }
  return &*it;
}

std::string get_string(const json& o, const char* key, const Field& f, std::string def = "") {
  const json* v = member(o, key, f, json::value_t::string);
  if (!v) return def;
  std::string s = v->get<std::string>();
  if (s.find('\0') != std::string::npos) bad(f[key], "must not contain NUL bytes");
  return s;
}

bool get_bool(const json& o, const char* key, const Field& f) {
  const json* v = member(o, key, f, json::value_t::boolean);
  return v && v->get<bool>();
}

template <typename T>
std::optional<T> get_uint(const json& o, const char* key, const Field& f) {
  const json* v = member(o, key, f, json::value_t::number_unsigned);
  if (!v) return std::nullopt;
  if (v->is_number_float()) bad(f[key], "must be an integer");
  uint64_t n = v->get<uint64_t>();
  if (n > std::numeric_limits<T>::max()) bad(f[key], "out of range");
  return static_cast<T>(n);
}

std::optional<int64_t> get_int(const json& o, const char* key, const Field& f) {
  const json* v = member(o, key, f, json::value_t::number_integer);
  if (!v) return std::nullopt;
  if (v->is_number_float()) bad(f[key], "must be an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) bad(f[key], "out of range");
  return v->get<int64_t>();
}

std::vector<std::string> get_strings(const json& o, const char* key, const Field& f) {
  std::vector<std::string> out;
  const json* v = member(o, key, f, json::value_t::array);
  if (!v) return out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) bad(f[key][i], "must be a string");
    std::string s = (*v)[i].get<std::string>();
    if (s.find('\0') != std::string::npos) bad(f[key][i], "must not contain NUL bytes");
    out.push_back(std::move(s));
  }
  return out;
}

const json& get_object(const json& o, const char* key, const Field& f) {
  static const json empty = json::object();
  const json* v = member(o, key, f, json::value_t::object);
  return v ? *v : empty;
}

// Longer than the kernel takes (PATH_MAX, NAME_MAX per component): said here,
// not as ENAMETOOLONG from somewhere in the init.
void require_short_path(const std::string& p, const Field& f) {
  if (p.size() >= PATH_MAX) bad(f, fmt::format("too long ({} bytes; a path has at most {})", p.size(), PATH_MAX - 1));
  size_t start = 0;
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i < p.size() && p[i] != '/') continue;
    if (i - start > NAME_MAX)
      bad(f, fmt::format("too long: a component of {} bytes (at most {})", i - start, NAME_MAX));
    start = i + 1;
  }
}

void require_absolute(const std::string& p, const Field& f) {
  if (p.empty() || p[0] != '/')
    bad(f, fmt::format("must be an absolute path, not \"{}\"", p.size() > 256 ? p.substr(0, 256) + "..." : p));
  require_short_path(p, f);
}

// execve's limits (E2BIG): the whole of args and env, and each string.
void require_execable(const std::vector<std::string>& args, const std::vector<std::string>& env, const Field& f) {
  long arg_max = sysconf(_SC_ARG_MAX);
  size_t limit = arg_max > 0 ? static_cast<size_t>(arg_max) : 2097152, total = 0;
  for (const auto* v : {&args, &env})
    for (const auto& a : *v) {
      if (a.size() >= 32 * 4096) bad(f, fmt::format("an argument or env entry is too large for execve ({} bytes)", a.size()));
      total += a.size() + 1 + sizeof(char*);
    }
  if (total > limit)
    bad(f, fmt::format("args and env are too large for execve ({} entries, {} bytes; the limit is {})",
                       args.size() + env.size(), total, limit));
}

// ---- process ----

std::optional<std::vector<int>> parse_cap_set(const json& caps, const char* key, const Field& f,
                                              std::vector<std::string>& skipped) {
  if (!caps.contains(key) || caps[key].is_null()) return std::nullopt;
  std::vector<int> out;
  auto names = get_strings(caps, key, f);
  for (size_t i = 0; i < names.size(); ++i) {
    // A newer kernel's capability on this host, or a typo: skipped, as runc and crun do.
    if (auto c = caps::from_name(names[i]); c && *c <= caps::last_cap())
      out.push_back(*c);
    else if (std::find(skipped.begin(), skipped.end(), names[i]) == skipped.end())
      skipped.push_back(names[i]);
  }
  return out;
}

Capabilities parse_capabilities(const json& j, const Field& f) {
  Capabilities c;
  c.bounding = parse_cap_set(j, "bounding", f, c.unknown);
  c.effective = parse_cap_set(j, "effective", f, c.unknown);
  c.inheritable = parse_cap_set(j, "inheritable", f, c.unknown);
  c.permitted = parse_cap_set(j, "permitted", f, c.unknown);
  c.ambient = parse_cap_set(j, "ambient", f, c.unknown);
  return c;
}

// A uid or gid: a uint32 that is an id (user::unusable_id).
uint32_t get_id(const json& o, const char* key, const Field& f, bool is_uid) {
  const json* v = member(o, key, f, json::value_t::number_unsigned);
  if (!v) return 0;  // member() refused a float or a negative number already
  if (auto why = user::unusable_id(v->get<uint64_t>(), is_uid); !why.empty()) bad(f[key], why);
  return static_cast<uint32_t>(v->get<uint64_t>());
}

User parse_user(const json& j, const Field& f) {
  User u;
  u.uid = get_id(j, "uid", f, true);
  u.gid = get_id(j, "gid", f, false);
  if (auto m = get_uint<uint32_t>(j, "umask", f)) {
    if (*m > 0777) bad(f["umask"], "must be at most 0777");
    u.umask = *m;
  }
  if (const json* g = member(j, "additionalGids", f, json::value_t::array))
    for (size_t i = 0; i < g->size(); ++i) {
      if (!(*g)[i].is_number_unsigned()) bad(f["additionalGids"][i], "must be a non-negative integer");
      if (auto why = user::unusable_id((*g)[i].get<uint64_t>(), false); !why.empty()) bad(f["additionalGids"][i], why);
      u.additional_gids.push_back(static_cast<gid_t>((*g)[i].get<uint64_t>()));
    }
  return u;
}

std::vector<Rlimit> parse_rlimits(const json& p, const Field& f) {
  std::vector<Rlimit> out;
  const json* arr = member(p, "rlimits", f, json::value_t::array);
  if (!arr) return out;
  std::set<int> seen;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f["rlimits"][i];
    const json& r = (*arr)[i];
    if (!r.is_object()) bad(fi, "must be an object");
    Rlimit l;
    l.type = get_string(r, "type", fi);
    auto res = rlimits::from_name(l.type);
    if (!res) bad(fi["type"], fmt::format("unknown rlimit \"{}\"", l.type));
    if (!seen.insert(*res).second) bad(fi["type"], fmt::format("duplicate rlimit \"{}\"", l.type));
    l.resource = *res;
    l.soft = get_uint<uint64_t>(r, "soft", fi).value_or(0);
    l.hard = get_uint<uint64_t>(r, "hard", fi).value_or(0);
    if (l.soft > l.hard) bad(fi, "soft limit is above the hard limit");
    out.push_back(l);
  }
  return out;
}

// ---- mounts, namespaces, devices, hooks ----

std::vector<IdMapping> parse_idmaps(const json& lin, const char* key, const Field& f);

std::vector<Mount> parse_mounts(const json& root) {
  std::vector<Mount> out;
  Field f{"mounts"};
  const json* arr = member(root, "mounts", Field{}, json::value_t::array);
  if (!arr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f[i];
    const json& m = (*arr)[i];
    if (!m.is_object()) bad(fi, "must be an object");
    Mount mt;
    mt.destination = get_string(m, "destination", fi);
    if (mt.destination.empty()) bad(fi["destination"], "must not be empty");
    require_absolute(mt.destination, fi["destination"]);
    if (paths::escapes_root(mt.destination)) bad(fi["destination"], "escapes the container's root");
    mt.type = get_string(m, "type", fi);
    mt.source = get_string(m, "source", fi);
    mt.options = get_strings(m, "options", fi);
    auto parsed = mounts::parse_options(mt.options);
    bool bind = parsed.flags & MS_BIND;
    if (bind && mt.source.empty()) bad(fi["source"], "a bind mount needs a source");
    if (!bind && mt.type.empty()) bad(fi["type"], "must not be empty (or use the bind option)");
    mt.uid_mappings = parse_idmaps(m, "uidMappings", fi);
    mt.gid_mappings = parse_idmaps(m, "gidMappings", fi);
    if (mt.uid_mappings.empty() != mt.gid_mappings.empty())
      bad(fi[mt.uid_mappings.empty() ? "uidMappings" : "gidMappings"], "must be set together with the other");
    if (!mt.uid_mappings.empty() && !bind) bad(fi["uidMappings"], "only bind mounts can be idmapped");
    mt.index = i;
    out.push_back(std::move(mt));
  }
  return out;
}

const std::array<const char*, 8> kNamespaceTypes{"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};

std::vector<Namespace> parse_namespaces(const json& lin, const Field& f) {
  std::vector<Namespace> out;
  const json* arr = member(lin, "namespaces", f, json::value_t::array);
  if (!arr) return out;
  std::set<std::string> seen;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f["namespaces"][i];
    const json& n = (*arr)[i];
    if (!n.is_object()) bad(fi, "must be an object");
    Namespace ns{get_string(n, "type", fi), get_string(n, "path", fi)};
    if (std::find_if(kNamespaceTypes.begin(), kNamespaceTypes.end(),
                     [&](const char* t) { return ns.type == t; }) == kNamespaceTypes.end())
      bad(fi["type"], fmt::format("unknown namespace type \"{}\"", ns.type));
    if (!seen.insert(ns.type).second) bad(fi["type"], fmt::format("duplicate namespace \"{}\"", ns.type));
    if (!ns.path.empty()) require_absolute(ns.path, fi["path"]);
    out.push_back(ns);
  }
  return out;
}

std::vector<IdMapping> parse_idmaps(const json& lin, const char* key, const Field& f) {
  std::vector<IdMapping> out;
  const json* arr = member(lin, key, f, json::value_t::array);
  if (!arr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f[key][i];
    const json& m = (*arr)[i];
    if (!m.is_object()) bad(fi, "must be an object");
    IdMapping im;
    im.container_id = get_uint<uint32_t>(m, "containerID", fi).value_or(0);
    im.host_id = get_uint<uint32_t>(m, "hostID", fi).value_or(0);
    im.size = get_uint<uint32_t>(m, "size", fi).value_or(0);
    if (im.size == 0) bad(fi["size"], "must be positive");
    out.push_back(im);
  }
  return out;
}

std::vector<Device> parse_devices(const json& lin, const Field& f) {
  std::vector<Device> out;
  const json* arr = member(lin, "devices", f, json::value_t::array);
  if (!arr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f["devices"][i];
    const json& d = (*arr)[i];
    if (!d.is_object()) bad(fi, "must be an object");
    Device dev;
    dev.path = get_string(d, "path", fi);
    require_absolute(dev.path, fi["path"]);
    if (paths::escapes_root(dev.path)) bad(fi["path"], "escapes the container's root");
    std::string t = get_string(d, "type", fi);
    if (t != "c" && t != "b" && t != "u" && t != "p") bad(fi["type"], fmt::format("unknown device type \"{}\"", t));
    dev.type = t[0];
    dev.major = get_int(d, "major", fi).value_or(0);
    dev.minor = get_int(d, "minor", fi).value_or(0);
    if (auto m = get_uint<uint32_t>(d, "fileMode", fi)) dev.file_mode = *m;
    if (auto u = get_uint<uid_t>(d, "uid", fi)) dev.uid = *u;
    if (auto g = get_uint<gid_t>(d, "gid", fi)) dev.gid = *g;
    out.push_back(dev);
  }
  return out;
}

std::vector<Hook> parse_hook_list(const json& hooks, const char* key, const Field& f) {
  std::vector<Hook> out;
  const json* arr = member(hooks, key, f, json::value_t::array);
  if (!arr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    Field fi = f[key][i];
    const json& h = (*arr)[i];
    if (!h.is_object()) bad(fi, "must be an object");
    Hook hk;
    hk.path = get_string(h, "path", fi);
    require_absolute(hk.path, fi["path"]);
    hk.args = get_strings(h, "args", fi);
    hk.env = get_strings(h, "env", fi);
    if (auto t = get_int(h, "timeout", fi)) {
      if (*t <= 0) bad(fi["timeout"], "must be positive");
      hk.timeout = static_cast<int>(*t);
    }
    out.push_back(std::move(hk));
  }
  return out;
}


// runtime-spec 1.1 linux.timeOffsets: {"monotonic"|"boottime": {secs, nanosecs}}.
std::vector<TimeOffset> parse_time_offsets(const json& lin, const Field& lf) {
  std::vector<TimeOffset> out;
  Field f = lf["timeOffsets"];
  for (auto& [clock, v] : get_object(lin, "timeOffsets", lf).items()) {
    if (clock != "monotonic" && clock != "boottime") bad(f[clock], "unknown clock (monotonic or boottime)");
    if (!v.is_object()) bad(f[clock], fmt::format("must be an object, not {}", type_name(v)));
    TimeOffset o{clock, get_int(v, "secs", f[clock]).value_or(0), 0};
    o.nanosecs = get_uint<uint32_t>(v, "nanosecs", f[clock]).value_or(0);
    if (o.nanosecs >= 1000000000) bad(f[clock]["nanosecs"], "must be less than 1000000000");
    out.push_back(o);
  }
  return out;
}

// Rules that tie fields together (the runtime-spec's and runc's).
void check_consistency(const Config& c) {
  if (!c.hostname.empty() && !c.has_namespace("uts"))
    bad(Field{"hostname"}, "needs a new uts namespace (add {\"type\": \"uts\"} to linux.namespaces)");
  if (c.domainname && !c.has_namespace("uts"))
    bad(Field{"domainname"}, "needs a new uts namespace (add {\"type\": \"uts\"} to linux.namespaces)");
  bool userns = c.has_namespace("user");
  if (!userns && (!c.uid_mappings.empty() || !c.gid_mappings.empty()))
    bad(Field{"linux.uidMappings"}, "id mappings need a user namespace");
  // Joining a user namespace, maps may be given (runc 1.1.5 requires them):
  // checked against the namespace's at create (idmap::check_joined), never written.
  if (userns && c.find_namespace("user")->path.empty() && (c.uid_mappings.empty() || c.gid_mappings.empty()))
    bad(Field{"linux.uidMappings"}, "a new user namespace needs uidMappings and gidMappings");
  // runc 1.2's rules: offsets only for a time namespace made here.
  if (!c.time_offsets.empty() && !c.has_namespace("time"))
    bad(Field{"linux.timeOffsets"}, "needs a new time namespace (add {\"type\": \"time\"} to linux.namespaces)");
  if (!c.time_offsets.empty() && !c.find_namespace("time")->path.empty())
    bad(Field{"linux.timeOffsets"}, "must be empty when joining an existing time namespace");
  // Masking without a mount namespace would mount over the caller's files (runc's validator).
  if ((!c.masked_paths.empty() || !c.readonly_paths.empty()) && !c.has_namespace("mount"))
    bad(Field{c.masked_paths.empty() ? "linux.readonlyPaths" : "linux.maskedPaths"},
        "unable to restrict sys entries without a private MNT namespace");
  if (!c.sysctl.empty()) {
    for (const auto& [k, v] : c.sysctl) {
      bool net = k.rfind("net.", 0) == 0;
      bool ipc = k.rfind("kernel.msg", 0) == 0 || k.rfind("kernel.sem", 0) == 0 || k.rfind("kernel.shm", 0) == 0 ||
                 k.rfind("fs.mqueue.", 0) == 0;
      // kernel.hostname is namespaced, but the hostname field owns it (runc's rule).
      if (k == "kernel.hostname") bad(Field{"linux.sysctl"}[k], "is not allowed as it conflicts with the OCI \"hostname\" field");
      bool uts = k == "kernel.domainname";
      if ((net && !c.has_namespace("network")) || (ipc && !c.has_namespace("ipc")) || (uts && !c.has_namespace("uts")) ||
          (!net && !ipc && !uts))
        bad(Field{"linux.sysctl"}[k], "is not namespaced by the container's namespaces");
    }
  }
}

}  // namespace

Hooks parse_hooks(const json& root) {
  Hooks h;
  Field f{"hooks"};
  const json& j = get_object(root, "hooks", Field{});
  h.prestart = parse_hook_list(j, "prestart", f);
  h.create_runtime = parse_hook_list(j, "createRuntime", f);
  h.create_container = parse_hook_list(j, "createContainer", f);
  h.start_container = parse_hook_list(j, "startContainer", f);
  h.poststart = parse_hook_list(j, "poststart", f);
  h.poststop = parse_hook_list(j, "poststop", f);
  return h;
}

const nlohmann::json& Config::linux_section(const char* key) const {
  static const json null_value;
  auto l = raw.find("linux");
  if (l == raw.end() || !l->is_object()) return null_value;
  auto it = l->find(key);
  return it == l->end() ? null_value : *it;
}

const Namespace* Config::find_namespace(std::string_view type) const {
  for (const auto& n : namespaces)
    if (n.type == type) return &n;
  return nullptr;
}

bool Config::has_namespace(std::string_view type) const { return find_namespace(type) != nullptr; }

Process parse_process(const json& j, const std::string& where) {
  Field f{where};
  if (!j.is_object()) bad(f, "must be an object");
  Process p;
  p.terminal = get_bool(j, "terminal", f);
  const json& cs = get_object(j, "consoleSize", f);
  p.console_height = get_uint<unsigned>(cs, "height", f["consoleSize"]).value_or(0);
  p.console_width = get_uint<unsigned>(cs, "width", f["consoleSize"]).value_or(0);
  p.user = parse_user(get_object(j, "user", f), f["user"]);
  p.args = get_strings(j, "args", f);
  if (p.args.empty()) bad(f["args"], "must not be empty");
  if (p.args[0].empty()) bad(f["args"][0], "must not be empty");
  p.env = get_strings(j, "env", f);
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos) bad(f["env"][i], "must be KEY=VALUE");
  require_execable(p.args, p.env, f);
  // REQUIRED by the runtime-spec; runc ("Cwd property must not be empty") and
  // crun refuse a process without one.
  if (!j.contains("cwd") || j["cwd"].is_null()) bad(f["cwd"], "must be set");
  p.cwd = get_string(j, "cwd", f);
  require_absolute(p.cwd, f["cwd"]);
  if (j.contains("capabilities") && !j["capabilities"].is_null())
    p.capabilities = parse_capabilities(get_object(j, "capabilities", f), f["capabilities"]);
  p.rlimits = parse_rlimits(j, f);
  p.no_new_privileges = get_bool(j, "noNewPrivileges", f);
  if (auto o = get_int(j, "oomScoreAdj", f)) {
    if (*o < -1000 || *o > 1000) bad(f["oomScoreAdj"], "must be between -1000 and 1000");
    p.oom_score_adj = static_cast<int>(*o);
  }
  p.apparmor_profile = get_string(j, "apparmorProfile", f);
  p.selinux_label = get_string(j, "selinuxLabel", f);
  return p;
}

Config parse_config(std::string_view text, const std::string& bundle) {
  json root;
  try {
    // Deep nesting is no config: refused before it costs stack anywhere.
    static constexpr int kMaxDepth = 1000;
    root = json::parse(text.begin(), text.end(), [](int depth, json::parse_event_t ev, json&) {
      if (depth > kMaxDepth && (ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start))
        throw Error(fmt::format("config.json: invalid JSON: nesting deeper than {} levels", kMaxDepth));
      return true;
    });
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers no double can hold.
    throw Error(fmt::format("config.json: invalid JSON: {}", e.what()));
  }
  return parse_config_object(std::move(root), bundle);
}

Config parse_config_object(json root, const std::string& bundle) {
  if (!root.is_object()) throw Error("config.json: must be a JSON object");
  Config c;
  Field top{};
  c.bundle = bundle;
  c.oci_version = get_string(root, "ociVersion", top);
  if (c.oci_version.empty()) bad(Field{"ociVersion"}, "must be set");

  const json* r = member(root, "root", top, json::value_t::object);
  if (!r) bad(Field{"root"}, "must be set");
  std::string rp = get_string(*r, "path", Field{"root"});
  if (rp.empty()) bad(Field{"root.path"}, "must not be empty");
  require_short_path(rp[0] == '/' ? rp : bundle + "/" + rp, Field{"root.path"});
  c.root_path = paths::clean(rp[0] == '/' ? rp : bundle + "/" + rp);
  c.root_readonly = get_bool(*r, "readonly", Field{"root"});

  if (root.contains("process") && !root["process"].is_null()) c.process = parse_process(root["process"], "process");
  c.hostname = get_string(root, "hostname", top);
  if (root.contains("domainname") && !root["domainname"].is_null()) c.domainname = get_string(root, "domainname", top);
  c.mounts = parse_mounts(root);
  c.hooks = parse_hooks(root);
  for (auto& [k, v] : get_object(root, "annotations", top).items()) {
    if (k.find('\0') != std::string::npos) bad(Field{"annotations"}, "a key must not contain NUL bytes");
    if (!v.is_string()) bad(Field{"annotations"}[k], "must be a string");
    c.annotations[k] = v.get<std::string>();
  }

  Field lf{"linux"};
  const json& lin = get_object(root, "linux", top);
  c.namespaces = parse_namespaces(lin, lf);
  c.uid_mappings = parse_idmaps(lin, "uidMappings", lf);
  c.gid_mappings = parse_idmaps(lin, "gidMappings", lf);
  c.devices = parse_devices(lin, lf);
  c.cgroups_path = get_string(lin, "cgroupsPath", lf);
  for (auto& [k, v] : get_object(lin, "sysctl", lf).items()) {
    if (!v.is_string()) bad(lf["sysctl"][k], "must be a string");
    c.sysctl[k] = v.get<std::string>();
  }
  c.masked_paths = get_strings(lin, "maskedPaths", lf);
  for (size_t i = 0; i < c.masked_paths.size(); ++i) require_absolute(c.masked_paths[i], lf["maskedPaths"][i]);
  c.readonly_paths = get_strings(lin, "readonlyPaths", lf);
  for (size_t i = 0; i < c.readonly_paths.size(); ++i) require_absolute(c.readonly_paths[i], lf["readonlyPaths"][i]);
  c.rootfs_propagation = get_string(lin, "rootfsPropagation", lf);
  if (!c.rootfs_propagation.empty() && !mounts::propagation_flag(c.rootfs_propagation))
    bad(lf["rootfsPropagation"], fmt::format("unknown propagation \"{}\"", c.rootfs_propagation));
  c.mount_label = get_string(lin, "mountLabel", lf);
  c.time_offsets = parse_time_offsets(lin, lf);
  get_object(lin, "resources", lf);  // type check; cgroups reads the rest
  get_object(lin, "seccomp", lf);
  c.raw = std::move(root);
  check_consistency(c);
  return c;
}

Config load_bundle(const std::string& bundle_arg) {
  std::string bundle = paths::absolute(bundle_arg.empty() ? "." : bundle_arg);
  if (bundle.size() >= PATH_MAX)
    throw Error(fmt::format("bundle {}...: too long ({} bytes; a path has at most {})", bundle.substr(0, 64),
                            bundle.size(), PATH_MAX - 1), ENAMETOOLONG);
  struct stat st;
  if (stat(bundle.c_str(), &st) != 0) throw_sys(fmt::format("bundle {}", bundle));
  std::string file = bundle + "/config.json";
  // A failed read(2) names its errno here; a stream would stop short and
  // report the cut text as invalid JSON.
  Config c = parse_config(fileio::read_file_or_throw(file), bundle);
  if (stat(c.root_path.c_str(), &st) != 0) throw_sys(fmt::format("config.json: root.path: rootfs {}", c.root_path));
  if (!S_ISDIR(st.st_mode)) throw Error(fmt::format("config.json: root.path: rootfs {} is not a directory", c.root_path));
  return c;
}

}  // namespace glassrun::spec
