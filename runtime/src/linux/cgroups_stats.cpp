// runc `events --stats` data: the JSON of runc's types.Stats, with its field
// order (ordered_json; Go prints struct fields in declaration order and map
// keys sorted) and Go's omitempty rules kept (zero counters are left out
// where runc leaves them out), so tools parsing runc's output parse ours.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "linux/cgroups_fs.h"
#include "linux/cgroups_impl.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

using json = nlohmann::ordered_json;

void put_nonzero(json& obj, const char* key, uint64_t v) {
  if (v != 0) obj[key] = v;
}

uint64_t read_or_zero(const std::string& dir, const std::string& file) {
  auto s = fs::read_if_exists(fs::join(dir, file));
  if (!s) return 0;
  try {
    return fs::parse_uint(*s, file);
  } catch (const Error&) {
    return 0;
  }
}

// "key value" lines → map (memory.stat, cpu.stat, cpuacct.stat).
std::map<std::string, uint64_t> flat_keyed(const std::string& dir, const std::string& file) {
  std::map<std::string, uint64_t> out;
  auto s = fs::read_if_exists(fs::join(dir, file));
  if (!s) return out;
  std::istringstream in(*s);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string k, v;
    if (l >> k >> v) {
      try { out[k] = fs::parse_uint(v, file); } catch (const Error&) {}
    }
  }
  return out;
}

std::vector<uint64_t> numbers(const std::string& text) {
  std::vector<uint64_t> out;
  std::istringstream in(text);
  uint64_t v;
  while (in >> v) out.push_back(v);
  return out;
}

json throttling(const std::map<std::string, uint64_t>& cpu_stat, uint64_t time_scale) {
  json t = json::object();
  auto get = [&](const char* k) { auto it = cpu_stat.find(k); return it == cpu_stat.end() ? 0 : it->second; };
  put_nonzero(t, "periods", get("nr_periods"));
  // runc's JSON names here are camelCase, unlike the rest of types.Stats.
  put_nonzero(t, "throttledPeriods", get("nr_throttled"));
  put_nonzero(t, "throttledTime", get(time_scale == 1 ? "throttled_time" : "throttled_usec") * time_scale);
  return t;
}

json memory_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
  json e = {{"limit", limit}};
  put_nonzero(e, "usage", usage);
  put_nonzero(e, "max", max);
  e["failcnt"] = failcnt;
  return e;
}

// Page sizes present in dir, from files "hugetlb.<size>.<suffix>".
std::vector<std::string> hugetlb_sizes(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> sizes;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sizes;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    std::string tail = "." + suffix;
    if (n.rfind("hugetlb.", 0) == 0 && n.size() > tail.size() + 8 && n.compare(n.size() - tail.size(), tail.size(), tail) == 0) {
      std::string size = n.substr(8, n.size() - 8 - tail.size());
      if (size.find('.') == std::string::npos) sizes.push_back(size);  // skip "rsvd" variants
    }
  }
  ::closedir(d);
  std::sort(sizes.begin(), sizes.end());  // a Go map: keys sorted
  return sizes;
}

// runc's BlkioEntry: major, minor, op, value (zeros left out).
json blkio_entry(unsigned major, unsigned minor, const std::string& op, uint64_t value) {
  json e = json::object();
  put_nonzero(e, "major", major);
  put_nonzero(e, "minor", minor);
  e["op"] = op;
  put_nonzero(e, "value", value);
  return e;
}

json blkio_entries(const std::string& dir, const std::string& file) {
  json list = json::array();
  auto s = fs::read_if_exists(fs::join(dir, file));
  if (!s) return list;
  std::istringstream in(*s);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string dev, op;
    uint64_t value = 0;
    if (!(l >> dev >> op >> value)) continue;  // "Total N" lines have no device
    unsigned major = 0, minor = 0;
    if (sscanf(dev.c_str(), "%u:%u", &major, &minor) != 2) continue;
    list.push_back(blkio_entry(major, minor, op, value));
  }
  return list;
}

std::string at(const std::map<std::string, std::string>& paths, const char* ctrl) {
  auto it = paths.find(ctrl);
  return it == paths.end() ? std::string() : it->second;
}

// ---- v1 ----

json v1_cpu(const std::string& cpu, const std::string& cpuacct) {
  json usage = json::object();
  if (!cpuacct.empty()) {
    put_nonzero(usage, "total", read_or_zero(cpuacct, "cpuacct.usage"));
    if (auto s = fs::read_if_exists(fs::join(cpuacct, "cpuacct.usage_percpu")); s && !numbers(*s).empty())
      usage["percpu"] = numbers(*s);
    // cpuacct.usage_all: "cpu user system" header, then one row per cpu.
    if (auto s = fs::read_if_exists(fs::join(cpuacct, "cpuacct.usage_all"))) {
      std::istringstream in(*s);
      std::string header;
      std::getline(in, header);
      std::vector<uint64_t> kernel, user;
      uint64_t cpu_n, u, k;
      while (in >> cpu_n >> u >> k) { user.push_back(u); kernel.push_back(k); }
      if (!kernel.empty()) { usage["percpu_kernel"] = kernel; usage["percpu_user"] = user; }
    }
    // cpuacct.stat is in clock ticks.
    auto st = flat_keyed(cpuacct, "cpuacct.stat");
    uint64_t hz = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
    usage["kernel"] = st["system"] * 1000000000ull / hz;
    usage["user"] = st["user"] * 1000000000ull / hz;
  } else {
    usage["kernel"] = 0;
    usage["user"] = 0;
  }
  return {{"usage", usage}, {"throttling", cpu.empty() ? json::object() : throttling(flat_keyed(cpu, "cpu.stat"), 1)}};
}

// "0-2,4" → [0,1,2,4] (runc's cpuset stats list every cpu and node).
json cpu_list(const std::string& text) {
  json out = json::array();
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    unsigned lo = 0, hi = 0;
    int n = sscanf(part.c_str(), "%u-%u", &lo, &hi);
    if (n < 1) continue;
    if (n == 1) hi = lo;
    for (unsigned i = lo; i <= hi && i < 65536; ++i) out.push_back(i);
  }
  return out;
}

// runc's CPUSetStats; on v2 (runc 1.1 reads none there) every counter is 0.
json cpuset_stats(const std::string& dir) {
  json c = json::object();
  auto list = [&](const char* key, const char* file) {
    if (dir.empty()) return;
    auto s = fs::read_if_exists(fs::join(dir, file));
    if (json l = s ? cpu_list(*s) : json::array(); !l.empty()) c[key] = l;
  };
  auto num = [&](const char* key, const char* file) { c[key] = dir.empty() ? 0 : read_or_zero(dir, file); };
  list("cpus", "cpuset.cpus");
  num("cpu_exclusive", "cpuset.cpu_exclusive");
  list("mems", "cpuset.mems");
  for (const char* k : {"mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page", "memory_spread_slab",
                        "memory_pressure", "sched_load_balance"})
    num(k, (std::string("cpuset.") + k).c_str());
  int64_t level = 0;
  if (!dir.empty())
    if (auto s = fs::read_if_exists(fs::join(dir, "cpuset.sched_relax_domain_level"))) level = std::strtoll(s->c_str(), nullptr, 10);
  c["sched_relax_domain_level"] = level;
  return c;
}

json v1_memory_entry(const std::string& dir, const std::string& prefix) {
  return memory_entry(read_or_zero(dir, prefix + ".limit_in_bytes"), read_or_zero(dir, prefix + ".usage_in_bytes"),
                      read_or_zero(dir, prefix + ".max_usage_in_bytes"), read_or_zero(dir, prefix + ".failcnt"));
}

json v1_memory(const std::string& dir) {
  json m = json::object();
  auto raw = flat_keyed(dir, "memory.stat");
  put_nonzero(m, "cache", raw["cache"]);
  m["usage"] = v1_memory_entry(dir, "memory");
  m["swap"] = v1_memory_entry(dir, "memory.memsw");
  m["kernel"] = v1_memory_entry(dir, "memory.kmem");
  m["kernelTCP"] = v1_memory_entry(dir, "memory.kmem.tcp");
  if (!raw.empty()) m["raw"] = raw;
  return m;
}

// One pid per line of cgroup.procs.
uint64_t procs_count(const std::string& dir) {
  auto s = fs::read_if_exists(fs::join(dir, "cgroup.procs"));
  return s ? static_cast<uint64_t>(std::count(s->begin(), s->end(), '\n')) : 0;
}

json pids_stats(const std::string& dir, bool v2) {
  json p = json::object();
  if (dir.empty()) return p;
  // cgroup v2 without the pids controller enabled for this cgroup has no
  // pids.current: runc then counts cgroup.procs (and reports no limit).
  if (v2 && !fs::exists(fs::join(dir, "pids.current"))) {
    put_nonzero(p, "current", procs_count(dir));
    return p;
  }
  put_nonzero(p, "current", read_or_zero(dir, "pids.current"));
  uint64_t limit = read_or_zero(dir, "pids.max");
  put_nonzero(p, "limit", limit == UINT64_MAX ? 0 : limit);  // "max" is reported as 0
  return p;
}

json v1_blkio(const std::string& dir) {
  json b = json::object();
  if (dir.empty()) return b;
  // runc prefers BFQ's counters, then CFQ's, then the throttle layer's.
  const char* keys[][2] = {{"ioServiceBytesRecursive", "io_service_bytes_recursive"},
                           {"ioServicedRecursive", "io_serviced_recursive"}};
  for (const char* prefix : {"blkio.bfq.", "blkio.", "blkio.throttle."}) {
    if (!fs::exists(fs::join(dir, std::string(prefix) + "io_serviced_recursive"))) continue;
    for (auto& k : keys) {
      json entries = blkio_entries(dir, std::string(prefix) + k[1]);
      if (!entries.empty()) b[k[0]] = entries;
    }
    break;
  }
  return b;
}

json hugetlb_stats(const std::string& dir, bool v2) {
  json h = json::object();
  if (dir.empty()) return h;
  for (const auto& size : hugetlb_sizes(dir, v2 ? "current" : "usage_in_bytes")) {
    std::string p = "hugetlb." + size;
    json e = json::object();
    if (v2) {
      put_nonzero(e, "usage", read_or_zero(dir, p + ".current"));
      auto events = flat_keyed(dir, p + ".events");
      e["failcnt"] = events["max"];
    } else {
      put_nonzero(e, "usage", read_or_zero(dir, p + ".usage_in_bytes"));
      put_nonzero(e, "max", read_or_zero(dir, p + ".max_usage_in_bytes"));
      e["failcnt"] = read_or_zero(dir, p + ".failcnt");
    }
    h[size] = e;
  }
  return h;
}

// ---- v2 ----

json v2_cpu(const std::string& dir) {
  auto st = flat_keyed(dir, "cpu.stat");
  json usage = json::object();
  put_nonzero(usage, "total", st["usage_usec"] * 1000);
  usage["kernel"] = st["system_usec"] * 1000;
  usage["user"] = st["user_usec"] * 1000;
  return {{"usage", usage}, {"throttling", throttling(st, 1000)}};
}

json v2_memory(const std::string& dir) {
  json m = json::object();
  auto raw = flat_keyed(dir, "memory.stat");
  put_nonzero(m, "cache", raw["file"]);
  uint64_t usage = read_or_zero(dir, "memory.current"), limit = read_or_zero(dir, "memory.max");
  // runc 1.1.5 reads only memory.current and memory.max here: no max usage
  // (memory.peak) and a failcnt of 0 (memory.events' "max" is not read).
  m["usage"] = memory_entry(limit, usage, 0, 0);
  // v1 reported swap as memory+swap; runc keeps that meaning on v2, also
  // without swap accounting (no memory.swap.* files: swap counts as 0).
  uint64_t swap_limit = read_or_zero(dir, "memory.swap.max");
  if (swap_limit != UINT64_MAX) swap_limit += limit;
  m["swap"] = memory_entry(swap_limit, read_or_zero(dir, "memory.swap.current") + usage, 0, 0);
  m["kernel"] = memory_entry(0, 0, 0, 0);
  m["kernelTCP"] = memory_entry(0, 0, 0, 0);
  if (!raw.empty()) m["raw"] = raw;
  return m;
}

json v2_io(const std::string& dir) {
  json b = json::object();
  auto s = fs::read_if_exists(fs::join(dir, "io.stat"));
  if (!s) return b;
  json bytes = json::array(), ios = json::array();
  std::istringstream in(*s);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string dev, kv;
    unsigned major = 0, minor = 0;
    if (!(l >> dev) || sscanf(dev.c_str(), "%u:%u", &major, &minor) != 2) continue;
    while (l >> kv) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string key = kv.substr(0, eq);
      uint64_t value = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
      const char* op = key == "rbytes" || key == "rios" ? "Read" : key == "wbytes" || key == "wios" ? "Write" : nullptr;
      if (!op) continue;  // runc 1.1.5 maps only these four to v1's tables
      (key[1] == 'b' ? bytes : ios).push_back(blkio_entry(major, minor, op, value));
    }
  }
  if (!bytes.empty()) b["ioServiceBytesRecursive"] = bytes;
  if (!ios.empty()) b["ioServicedRecursive"] = ios;
  return b;
}

}  // namespace

json v1_stats(const std::map<std::string, std::string>& paths) {
  std::string mem = at(paths, "memory");
  return {{"cpu", v1_cpu(at(paths, "cpu"), at(paths, "cpuacct"))},
          {"cpuset", cpuset_stats(at(paths, "cpuset"))},
          {"memory", mem.empty() ? json::object() : v1_memory(mem)},
          {"pids", pids_stats(at(paths, "pids"), false)},
          {"blkio", v1_blkio(at(paths, "blkio"))},
          {"hugetlb", hugetlb_stats(at(paths, "hugetlb"), false)}};
}

json v2_stats(const std::string& dir) {
  return {{"cpu", v2_cpu(dir)},
          {"cpuset", cpuset_stats("")},
          {"memory", v2_memory(dir)},
          {"pids", pids_stats(dir, true)},
          {"blkio", v2_io(dir)},
          {"hugetlb", hugetlb_stats(dir, true)}};
}

}  // namespace glassrun::cgroups
