// File primitives for cgroupfs: whole-value reads and single-write(2) writes
// (the kernel parses one write per value), with errors naming path and value.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace glassrun::cgroups::fs {

std::string join(const std::string& dir, const std::string& file);

// A path as the *at calls take it. One under /sys/fs/cgroup/ is resolved
// from a directory fd of /sys/fs/cgroup (opened once per process), so its
// walk skips "/sys" and "/sys/fs": those are sysfs, whose kernfs lock every
// network namespace set-up holds for writing (registering `lo`), and under
// concurrent runs a walk through them waited there ~30 times per run
// (docs/BENCHMARKS.md, session 10). Any other path, or if the open fails,
// is walked as given. `rel` points into `path`, which must outlive it.
struct At {
  int dirfd;
  const char* rel;
};
At at(const std::string& path);
// Closes that directory fd; with for_good, at() walks every path as given
// from then on. clone_into() closes it before the clone, and for good in
// the child: no process that enters a container may hold a host directory
// (".." climbs out of any mount).
void close_mount_fd(bool for_good = false);
// Undoes for_good: for the parent of a child that shared its memory (and so
// that flag) until it executed (clone_into_sharing_memory).
void allow_mount_fd();

bool exists(const std::string& path);
// access(F_OK) through at(): false on any error.
bool accessible(const std::string& path);

// Throws Error("read <path>: <errno text>").
std::string read(const std::string& path);
std::optional<std::string> read_if_exists(const std::string& path);
// A control file holding one value (one seq_file record: cpuset.cpus,
// freezer.state, memory.limit_in_bytes): one read(2), fileio::read_fd's
// one_record. Files of several lines (cgroup.procs, *.stat) need the above.
std::optional<std::string> read_value_if_exists(const std::string& path);
// A one-value file (as read_value_if_exists) without the trailing newline.
std::string read_trimmed(const std::string& path);
// Throws Error("write <value> to <path>: <errno text>").
void write(const std::string& path, const std::string& value);

// Like write(), keeping the file open across consecutive writes to the same
// path: a run of v1 device rules (one write(2) each) costs one open.
class Writer {
 public:
  void write(const std::string& path, const std::string& value);

 private:
  std::string path_;
  UniqueFd fd_;
};

// "max" (v2 unlimited) reads as UINT64_MAX.
uint64_t parse_uint(const std::string& text, const std::string& what);
uint64_t read_uint(const std::string& path);

// mkdir -p; returns the directories it made, outermost first.
std::vector<std::string> mkdir_p(const std::string& path);
// rmdir(2) through at(): 0, or -1 with errno.
int rmdir(const std::string& path);
// rmdir path and any cgroups below it, deepest first; ENOENT is success.
// Retries EBUSY briefly: a cgroup stays busy until its exited tasks are reaped.
void remove_tree(const std::string& path);

// Pids in <dir>/cgroup.procs, and with recursive in every cgroup below it.
std::vector<pid_t> read_procs(const std::string& dir, bool recursive);

}  // namespace glassrun::cgroups::fs
