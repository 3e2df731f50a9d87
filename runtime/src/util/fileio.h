// Small whole-file reads and writes with errno kept for the caller.
#pragma once

#include <string>

namespace glassrun::fileio {

// The rest of fd into out; false with errno set on failure. one_record: a
// file the kernel generates as one seq_file record (a cgroup control value,
// /proc/PID/stat) comes whole in one read(2) when the buffer is larger, so
// the first short read is its end and the read(2) that returns 0 is not
// made. Not for files of several records (mountinfo, cgroup.procs): a read
// of those can stop short of the end.
bool read_fd(int fd, std::string& out, bool one_record = false);
// false with errno set on failure.
bool read_file(const std::string& path, std::string& out, bool one_record = false);
bool read_at(int dirfd, const std::string& name, std::string& out);
// The whole file; throws Error naming the failed step: "open PATH" (as runc
// words a missing file) or "read PATH".
std::string read_file_or_throw(const std::string& path);
// Writes data to a file (O_WRONLY|O_TRUNC, no create); throws Error naming path.
void write_file(const std::string& path, const std::string& data);
// temp file + fsync-free rename: readers see the old or the new file, whole.
void write_atomic(int dirfd, const std::string& name, const std::string& data, int mode);

}  // namespace glassrun::fileio
