#include "state/runc_view.h"

#include "linux/capabilities.h"
#include "linux/mount_options.h"

namespace glassrun::state {

using nlohmann::json;

namespace {

json mounts_view(const spec::Config& c) {
  json out = json::array();
  for (const auto& m : c.mounts) {
    auto o = mounts::parse_options(m.options);
    unsigned long prop = 0;
    json props = nullptr;
    if (!o.propagation.empty()) {
      props = json::array();
      for (auto p : o.propagation) props.push_back(p), prop |= p;
    }
    out.push_back({{"source", m.source},
                   {"destination", m.destination},
                   {"device", (o.flags & MS_BIND) ? "bind" : m.type},
                   {"flags", o.flags},
                   {"propagation_flags", props},
                   {"data", o.data},
                   {"relabel", ""},
                   {"rec_attr", nullptr},
                   {"extensions", 0},
                   {"premount_cmds", nullptr},
                   {"postmount_cmds", nullptr}});
  }
  return out;
}

json devices_view(const spec::Config& c) {
  json out = json::array();
  for (const auto& d : c.devices)
    out.push_back({{"type", static_cast<int>(d.type)},
                   {"path", d.path},
                   {"major", d.major},
                   {"minor", d.minor},
                   {"permissions", "rwm"},
                   {"allow", true},
                   {"file_mode", d.file_mode.value_or(0)},
                   {"uid", d.uid.value_or(0)},
                   {"gid", d.gid.value_or(0)}});
  return out;
}

json cap_names(const std::optional<std::vector<int>>& set) {
  if (!set || set->empty()) return nullptr;
  json out = json::array();
  for (int cap : *set) out.push_back(caps::to_name(cap));
  return out;
}

json idmaps_view(const std::vector<spec::IdMapping>& maps) {
  if (maps.empty()) return nullptr;
  json out = json::array();
  for (const auto& m : maps) out.push_back({{"container_id", m.container_id}, {"host_id", m.host_id}, {"size", m.size}});
  return out;
}

json strings_or_null(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

json hooks_view(const spec::Config& c) {
  auto list = [](const std::vector<spec::Hook>& hs) -> json {
    if (hs.empty()) return nullptr;
    json out = json::array();
    for (const auto& h : hs) {
      json j{{"path", h.path}};
      if (!h.args.empty()) j["args"] = h.args;
      if (!h.env.empty()) j["env"] = h.env;
      if (h.timeout) j["timeout"] = *h.timeout;
      out.push_back(j);
    }
    return out;
  };
  return {{"createContainer", list(c.hooks.create_container)}, {"createRuntime", list(c.hooks.create_runtime)},
          {"poststart", list(c.hooks.poststart)},             {"poststop", list(c.hooks.poststop)},
          {"prestart", list(c.hooks.prestart)},               {"startContainer", list(c.hooks.start_container)}};
}

const char* runc_ns_name(const std::string& t) {
  if (t == "pid") return "NEWPID";
  if (t == "network") return "NEWNET";
  if (t == "mount") return "NEWNS";
  if (t == "ipc") return "NEWIPC";
  if (t == "uts") return "NEWUTS";
  if (t == "user") return "NEWUSER";
  if (t == "cgroup") return "NEWCGROUP";
  return "NEWTIME";
}

}  // namespace

json runc_config_view(const spec::Config& c, const std::string& id, bool no_pivot, bool no_new_keyring) {
  json ns = json::array();
  for (const auto& n : c.namespaces) ns.push_back({{"type", runc_ns_name(n.type)}, {"path", n.path}});
  json labels = json::array({"bundle=" + c.bundle});
  for (const auto& [k, v] : c.annotations) labels.push_back(k + "=" + v);
  json caps = nullptr;
  if (c.process && c.process->capabilities) {
    const auto& cp = *c.process->capabilities;
    caps = {{"Bounding", cap_names(cp.bounding)}, {"Effective", cap_names(cp.effective)},
            {"Inheritable", cap_names(cp.inheritable)}, {"Permitted", cap_names(cp.permitted)},
            {"Ambient", cap_names(cp.ambient)}};
  }
  unsigned long root_prop = c.rootfs_propagation.empty() ? 0 : *mounts::propagation_flag(c.rootfs_propagation);
  json sysctl = c.sysctl.empty() ? json(nullptr) : json(c.sysctl);
  const json& seccomp = c.linux_section("seccomp");
  return {{"no_pivot_root", no_pivot},
          {"parent_death_signal", 0},
          {"rootfs", c.root_path},
          {"umask", c.process && c.process->user.umask ? json(*c.process->user.umask) : json(nullptr)},
          {"readonlyfs", c.root_readonly},
          {"rootPropagation", root_prop},
          {"mounts", mounts_view(c)},
          {"devices", devices_view(c)},
          {"mount_label", c.mount_label},
          {"hostname", c.hostname},
          {"namespaces", ns},
          {"capabilities", caps},
          {"networks", nullptr},
          {"routes", nullptr},
          {"cgroups", {{"name", id}, {"path", c.cgroups_path}, {"scope_prefix", ""}}},
          {"uid_mappings", idmaps_view(c.uid_mappings)},
          {"gid_mappings", idmaps_view(c.gid_mappings)},
          {"mask_paths", strings_or_null(c.masked_paths)},
          {"readonly_paths", strings_or_null(c.readonly_paths)},
          {"sysctl", sysctl},
          {"seccomp", seccomp.is_null() ? json(nullptr) : seccomp},
          {"no_new_privileges", c.process && c.process->no_new_privileges},
          {"Hooks", hooks_view(c)},
          {"version", c.oci_version},
          {"labels", labels},
          {"no_new_keyring", no_new_keyring}};
}

}  // namespace glassrun::state
