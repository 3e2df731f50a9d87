#include "linux/cgroups_resources.h"

#include <cerrno>

#include "linux/cgroups_devices.h"
#include "linux/cgroups_fs.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

using nlohmann::json;

// One object of linux.resources ("memory", "cpu", ...) with typed getters
// whose errors name the field.
class Section {
 public:
  Section(const json& parent, const std::string& key, const std::string& prefix)
      : path_(prefix + "." + key) {
    if (parent.is_object() && parent.contains(key) && !parent[key].is_null()) obj_ = &parent[key];
  }
  explicit Section(const json* obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  bool present() const { return obj_ != nullptr; }
  std::string field(const std::string& key) const { return path_ + "." + key; }
  const std::string& path() const { return path_; }

  template <typename T>
  std::optional<T> get(const std::string& key) const {
    if (!obj_ || !obj_->is_object() || !obj_->contains(key) || (*obj_)[key].is_null()) return std::nullopt;
    try {
      return (*obj_)[key].get<T>();
    } catch (const json::exception& e) {
      fail("{}: {}", field(key), e.what());
    }
  }
  int64_t num(const std::string& key) const { return get<int64_t>(key).value_or(0); }
  // Array entries as sections named "<field>[i]".
  std::vector<Section> list(const std::string& key) const {
    std::vector<Section> out;
    if (!obj_ || !obj_->is_object() || !obj_->contains(key) || (*obj_)[key].is_null()) return out;
    const json& arr = (*obj_)[key];
    if (!arr.is_array()) fail("{}: not an array", field(key));
    for (size_t i = 0; i < arr.size(); ++i) out.emplace_back(&arr[i], fmt::format("{}[{}]", field(key), i));
    return out;
  }
  const json* raw() const { return obj_; }

 private:
  const json* obj_ = nullptr;
  std::string path_;
};

const std::string kRes = "linux.resources";

Section section(const json& resources, const std::string& key) { return Section(resources, key, kRes); }

// runc's numToStr: 0 is "unset", -1 is "max".
std::optional<std::string> v2_number(int64_t v) {
  if (v == 0) return std::nullopt;
  if (v == -1) return "max";
  return std::to_string(v);
}

void check_before_update(const Section& mem, int64_t limit, const CgroupFacts& facts) {
  if (!mem.get<bool>("checkBeforeUpdate").value_or(false) || limit <= 0) return;
  if (static_cast<uint64_t>(limit) < facts.memory_usage)
    fail("{}: rejecting memory limit {} below current usage {}", mem.field("checkBeforeUpdate"), limit,
         facts.memory_usage);
}

std::string device_key(const Section& d) { return fmt::format("{}:{}", d.num("major"), d.num("minor")); }

// ---- v1 ----

void v1_cpuset(const json& r, std::vector<FileWrite>& w) {
  Section cpu = section(r, "cpu");
  if (auto cpus = cpu.get<std::string>("cpus"); cpus && !cpus->empty())
    w.push_back({cpu.field("cpus"), "cpuset", "cpuset.cpus", *cpus});
  if (auto mems = cpu.get<std::string>("mems"); mems && !mems->empty())
    w.push_back({cpu.field("mems"), "cpuset", "cpuset.mems", *mems});
}

void v1_memory(const json& r, const CgroupFacts& facts, std::vector<FileWrite>& w) {
  Section mem = section(r, "memory");
  if (!mem.present()) return;
  int64_t limit = mem.num("limit");
  int64_t swap = mem.num("swap");
  check_before_update(mem, limit, facts);
  // Unlimited memory with swap unset means both unlimited (runc).
  if (limit == -1 && swap == 0 && facts.memsw) swap = -1;
  FileWrite mem_w{mem.field("limit"), "memory", "memory.limit_in_bytes", std::to_string(limit)};
  FileWrite swap_w{mem.field("swap"), "memory", "memory.memsw.limit_in_bytes", std::to_string(swap)};
  // The kernel wants memory <= memsw at every step: raising both means
  // memsw first, lowering means memory first.
  bool swap_first = limit != 0 && swap != 0 && (swap == -1 || facts.memory_limit < static_cast<uint64_t>(swap));
  if (swap_first && swap != 0) w.push_back(swap_w);
  if (limit != 0) w.push_back(mem_w);
  if (!swap_first && swap != 0) w.push_back(swap_w);
  if (int64_t res = mem.num("reservation"); res != 0)
    w.push_back({mem.field("reservation"), "memory", "memory.soft_limit_in_bytes", std::to_string(res)});
  if (mem.get<bool>("disableOOMKiller").value_or(false))
    w.push_back({mem.field("disableOOMKiller"), "memory", "memory.oom_control", "1"});
  if (auto sw = mem.get<int64_t>("swappiness"); sw && *sw != -1) {
    if (*sw < 0 || *sw > 100)
      fail("{}: invalid memory swappiness value: {} (valid range is 0-100)", mem.field("swappiness"), *sw);
    w.push_back({mem.field("swappiness"), "memory", "memory.swappiness", std::to_string(*sw)});
  }
}

void v1_cpu(const json& r, std::vector<FileWrite>& w) {
  Section cpu = section(r, "cpu");
  if (!cpu.present()) return;
  if (int64_t shares = cpu.num("shares"); shares != 0) {
    FileWrite s{cpu.field("shares"), "cpu", "cpu.shares", std::to_string(shares)};
    s.check_readback = true;
    w.push_back(s);
  }
  int64_t quota = cpu.num("quota");
  if (int64_t period = cpu.num("period"); period != 0) {
    FileWrite p{cpu.field("period"), "cpu", "cpu.cfs_period_us", std::to_string(period)};
    p.retry_after_rest_on_einval = quota != 0;
    w.push_back(p);
  }
  if (quota != 0) w.push_back({cpu.field("quota"), "cpu", "cpu.cfs_quota_us", std::to_string(quota)});
  if (auto burst = cpu.get<uint64_t>("burst"))
    w.push_back({cpu.field("burst"), "cpu", "cpu.cfs_burst_us", std::to_string(*burst)});
  if (auto idle = cpu.get<int64_t>("idle")) w.push_back({cpu.field("idle"), "cpu", "cpu.idle", std::to_string(*idle)});
  if (int64_t p = cpu.num("realtimePeriod"); p != 0)
    w.push_back({cpu.field("realtimePeriod"), "cpu", "cpu.rt_period_us", std::to_string(p)});
  if (int64_t rt = cpu.num("realtimeRuntime"); rt != 0)
    w.push_back({cpu.field("realtimeRuntime"), "cpu", "cpu.rt_runtime_us", std::to_string(rt)});
}

std::optional<std::string> pids_max(const Section& pids) {
  int64_t limit = pids.num("limit");
  if (limit == 0) return std::nullopt;  // runc 1.1: 0 leaves it alone
  return limit > 0 ? std::to_string(limit) : "max";
}

void v1_pids(const json& r, std::vector<FileWrite>& w) {
  Section pids = section(r, "pids");
  if (auto v = pids_max(pids)) w.push_back({pids.field("limit"), "pids", "pids.max", *v});
}

void v1_blkio(const json& r, const CgroupFacts& facts, std::vector<FileWrite>& w) {
  Section io = section(r, "blockIO");
  if (!io.present()) return;
  std::string weight_file = facts.bfq ? "blkio.bfq.weight" : "blkio.weight";
  std::string weight_dev_file = facts.bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
  if (int64_t wt = io.num("weight"); wt != 0) w.push_back({io.field("weight"), "blkio", weight_file, std::to_string(wt)});
  if (int64_t lw = io.num("leafWeight"); lw != 0)
    w.push_back({io.field("leafWeight"), "blkio", "blkio.leaf_weight", std::to_string(lw)});
  for (const auto& d : io.list("weightDevice")) {
    if (int64_t wt = d.num("weight"); wt != 0)
      w.push_back({d.field("weight"), "blkio", weight_dev_file, fmt::format("{} {}", device_key(d), wt)});
    if (int64_t lw = d.num("leafWeight"); lw != 0)
      w.push_back({d.field("leafWeight"), "blkio", "blkio.leaf_weight_device", fmt::format("{} {}", device_key(d), lw)});
  }
  const std::pair<const char*, const char*> throttles[] = {
      {"throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
      {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
      {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
      {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"}};
  for (const auto& [key, file] : throttles)
    for (const auto& d : io.list(key))
      w.push_back({d.path(), "blkio", file, fmt::format("{} {}", device_key(d), d.num("rate"))});
}

void hugetlb(const json& r, bool v2, std::vector<FileWrite>& w) {
  for (const auto& h : Section(&r, kRes).list("hugepageLimits")) {
    auto size = h.get<std::string>("pageSize");
    if (!size || size->empty()) fail("{}: pageSize is required", h.path());
    std::string file = v2 ? fmt::format("hugetlb.{}.max", *size) : fmt::format("hugetlb.{}.limit_in_bytes", *size);
    w.push_back({h.field("limit"), v2 ? "" : "hugetlb", file, std::to_string(h.get<uint64_t>("limit").value_or(0))});
  }
}

void v1_network(const json& r, std::vector<FileWrite>& w) {
  Section net = section(r, "network");
  if (auto id = net.get<uint32_t>("classID"); id && *id != 0)
    w.push_back({net.field("classID"), "net_cls", "net_cls.classid", std::to_string(*id)});
  for (const auto& p : net.list("priorities"))
    w.push_back({p.path(), "net_prio", "net_prio.ifpriomap",
                 fmt::format("{} {}", p.get<std::string>("name").value_or(""), p.num("priority"))});
}

// ---- v2 ----

void v2_pids(const json& r, std::vector<FileWrite>& w) {
  Section pids = section(r, "pids");
  if (auto v = pids_max(pids)) w.push_back({pids.field("limit"), "", "pids.max", *v});
}

void v2_memory(const json& r, const CgroupFacts& facts, std::vector<FileWrite>& w) {
  Section mem = section(r, "memory");
  if (!mem.present()) return;
  int64_t limit = mem.num("limit");
  check_before_update(mem, limit, facts);
  // swappiness, disableOOMKiller and kernel memory have no v2 files; runc
  // ignores them there too.
  std::optional<std::string> swap;
  try {
    swap = v2_swap_max(mem.num("swap"), limit);
  } catch (const Error& e) {
    fail("{}: {}", mem.field("swap"), e.what());
  }
  if (swap) {
    FileWrite s{mem.field("swap"), "", "memory.swap.max", *swap};
    s.skip_if_missing = *swap == "max" || *swap == "0";
    w.push_back(s);
  }
  if (auto v = v2_number(limit)) w.push_back({mem.field("limit"), "", "memory.max", *v});
  if (auto v = v2_number(mem.num("reservation"))) w.push_back({mem.field("reservation"), "", "memory.low", *v});
}

void v2_io(const json& r, const CgroupFacts& facts, std::vector<FileWrite>& w) {
  Section io = section(r, "blockIO");
  if (!io.present()) return;
  if (int64_t wt = io.num("weight"); wt != 0) {
    if (facts.bfq) w.push_back({io.field("weight"), "", "io.bfq.weight", std::to_string(wt)});
    else w.push_back({io.field("weight"), "", "io.weight", std::to_string(blkio_weight_to_io_weight(wt))});
  }
  // Per-device weights exist only with BFQ; runc drops them otherwise.
  if (facts.bfq)
    for (const auto& d : io.list("weightDevice"))
      if (int64_t wt = d.num("weight"); wt != 0)
        w.push_back({d.field("weight"), "", "io.bfq.weight", fmt::format("{} {}", device_key(d), wt)});
  const std::pair<const char*, const char*> throttles[] = {{"throttleReadBpsDevice", "rbps"},
                                                           {"throttleWriteBpsDevice", "wbps"},
                                                           {"throttleReadIOPSDevice", "riops"},
                                                           {"throttleWriteIOPSDevice", "wiops"}};
  for (const auto& [key, name] : throttles)
    for (const auto& d : io.list(key))
      w.push_back({d.path(), "", "io.max", fmt::format("{} {}={}", device_key(d), name, d.num("rate"))});
}

void v2_cpu(const json& r, std::vector<FileWrite>& w) {
  Section cpu = section(r, "cpu");
  if (!cpu.present()) return;
  if (int64_t shares = cpu.num("shares"); shares != 0)
    w.push_back({cpu.field("shares"), "", "cpu.weight", std::to_string(cpu_shares_to_weight(shares))});
  if (auto idle = cpu.get<int64_t>("idle")) w.push_back({cpu.field("idle"), "", "cpu.idle", std::to_string(*idle)});
  int64_t quota = cpu.num("quota"), period = cpu.num("period");
  if (quota != 0 || period != 0) {
    std::string v = quota > 0 ? std::to_string(quota) : "max";
    if (period != 0) v += " " + std::to_string(period);
    w.push_back({cpu.field(quota != 0 ? "quota" : "period"), "", "cpu.max", v});
  }
  if (auto burst = cpu.get<uint64_t>("burst"))
    w.push_back({cpu.field("burst"), "", "cpu.max.burst", std::to_string(*burst)});
  for (const char* rt : {"realtimeRuntime", "realtimePeriod"})
    if (cpu.num(rt) != 0) fail("{}: realtime scheduling limits are not supported on cgroup v2", cpu.field(rt));
}

void v2_cpuset(const json& r, std::vector<FileWrite>& w) {
  Section cpu = section(r, "cpu");
  if (auto cpus = cpu.get<std::string>("cpus"); cpus && !cpus->empty())
    w.push_back({cpu.field("cpus"), "", "cpuset.cpus", *cpus});
  if (auto mems = cpu.get<std::string>("mems"); mems && !mems->empty())
    w.push_back({cpu.field("mems"), "", "cpuset.mems", *mems});
}

void v2_unified(const json& r, std::vector<FileWrite>& w) {
  Section unified = section(r, "unified");
  if (!unified.present()) return;
  if (!unified.raw()->is_object()) fail("{}: not an object", unified.path());
  for (const auto& [key, value] : unified.raw()->items()) {
    if (key.find('/') != std::string::npos || key.empty() || key == "." || key == "..")
      fail("{}: must be a file name (no slashes)", unified.field(key));
    if (!value.is_string()) fail("{}: value must be a string", unified.field(key));
    w.push_back({unified.field(key), "", key, value.get<std::string>()});
  }
}

// Applies one write; false when it must be retried after the others.
bool apply_one(const FileWrite& w, const std::string& dir, bool allow_defer, fs::Writer& out) {
  std::string path = fs::join(dir, w.file);
  try {
    out.write(path, w.value);
  } catch (const Error& e) {
    if (w.skip_if_missing && e.sys_errno() == ENOENT) return true;
    if (allow_defer && w.retry_after_rest_on_einval && e.sys_errno() == EINVAL) return false;
    throw Error(w.field + ": " + e.what(), e.sys_errno());
  }
  if (w.check_readback) {
    uint64_t want = fs::parse_uint(w.value, w.field), got = fs::read_uint(path);
    if (want > got) fail("{}: the maximum allowed cpu-shares is {}", w.field, got);
    if (want < got) fail("{}: the minimum allowed cpu-shares is {}", w.field, got);
  }
  return true;
}

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

std::optional<std::string> v2_swap_max(int64_t swap, int64_t memory) {
  // Unlimited memory with swap unset: both unlimited, as on v1.
  if (memory == -1 && swap == 0) return "max";
  if (swap == -1) return "max";
  if (swap == 0) return std::nullopt;
  if (memory == 0 || memory == -1) fail("unable to set swap limit without memory limit");
  if (memory < 0) fail("invalid memory value: {}", memory);
  if (swap < memory) fail("memory+swap limit should be >= memory limit");
  // The spec's swap is memory+swap; v2 limits swap alone.
  return std::to_string(swap - memory);
}

FactsWanted facts_wanted(const json& resources) {
  return {section(resources, "memory").present(), section(resources, "blockIO").present()};
}

std::vector<FileWrite> plan_v1(const json& resources, const CgroupFacts& facts) {
  Section unified = section(resources, "unified");
  if (unified.present() && !unified.raw()->empty()) fail("{}: requires cgroup v2", unified.path());
  std::vector<FileWrite> w;
  v1_cpuset(resources, w);
  v1_memory(resources, facts, w);
  v1_cpu(resources, w);
  v1_pids(resources, w);
  v1_blkio(resources, facts, w);
  hugetlb(resources, false, w);
  v1_network(resources, w);
  return w;
}

std::vector<FileWrite> plan_v2(const json& resources, const CgroupFacts& facts) {
  // Network classes and priorities have no v2 controller; runc ignores them.
  std::vector<FileWrite> w;
  v2_pids(resources, w);
  v2_memory(resources, facts, w);
  v2_io(resources, facts, w);
  v2_cpu(resources, w);
  v2_cpuset(resources, w);
  hugetlb(resources, true, w);
  v2_unified(resources, w);  // last: it overrides what the typed fields wrote
  return w;
}

std::vector<FileWrite> plan_v1_devices(const std::vector<DeviceRule>& rules) {
  // Start from deny-all, as runc's emulator target does, then replay the
  // list. Deny rules before the first allow find nothing to take away (the
  // spec's usual leading "deny all"): not written, as runc's emulator does
  // not write them either.
  std::vector<FileWrite> w{{kRes + ".devices", "devices", "devices.deny", "a"}};
  bool allowed_any = false;
  for (const auto& r : rules) {
    allowed_any = allowed_any || r.allow;
    if (!allowed_any) continue;
    w.push_back({kRes + ".devices", "devices", r.allow ? "devices.allow" : "devices.deny", v1_device_line(r)});
  }
  return w;
}

void apply_writes(const std::vector<FileWrite>& writes, const std::map<std::string, std::string>& dirs) {
  std::vector<const FileWrite*> deferred;
  fs::Writer out;
  for (const auto& w : writes) {
    auto dir = dirs.find(w.controller);
    if (dir == dirs.end() || dir->second.empty())
      fail("{}: cgroup controller {} is not mounted", w.field, w.controller.empty() ? "(unified)" : w.controller);
    if (!apply_one(w, dir->second, true, out)) deferred.push_back(&w);
  }
  for (const FileWrite* w : deferred) apply_one(*w, dirs.at(w->controller), false, out);
}

}  // namespace glassrun::cgroups
