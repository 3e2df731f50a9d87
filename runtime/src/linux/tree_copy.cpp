#include "linux/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace glassrun::tree_copy {

namespace {

// An id unmapped in our user namespace (EINVAL) cannot be given: keep the
// entry with our own ids rather than fail the whole container.
void set_owner(int dir, const char* name, const struct stat& st, int at_flags) {
  if (fchownat(dir, name, st.st_uid, st.st_gid, at_flags) != 0 && errno != EINVAL)
    throw_sys("chown");
}

// Owner before mode: chown clears setuid/setgid bits.
void set_owner_and_mode(int fd, const struct stat& st) {
  if (fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EINVAL) throw_sys("chown");
  if (fchmod(fd, st.st_mode & 07777) != 0) throw_sys("chmod");
}

void set_times(int dir, const char* name, const struct stat& st) {
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) != 0) throw_sys("set times");
}

void copy_file_data(int from, int to, off_t size) {
  off_t offset = 0;
  while (offset < size) {
    ssize_t n = sendfile(to, from, &offset, static_cast<size_t>(size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("copy data");
    if (n == 0) break;  // the file shrank while we copied
  }
}

void copy_regular(int from_dir, int to_dir, const char* name, const struct stat& st) {
  UniqueFd from(openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!from) throw_sys("open");
  UniqueFd to(openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!to) throw_sys("create");
  copy_file_data(from.get(), to.get(), st.st_size);
  set_owner_and_mode(to.get(), st);
}

void copy_symlink(int from_dir, int to_dir, const char* name, const struct stat& st) {
  std::vector<char> target(static_cast<size_t>(st.st_size) + 2);
  ssize_t n = readlinkat(from_dir, name, target.data(), target.size() - 1);
  if (n < 0) throw_sys("readlink");
  target[static_cast<size_t>(n)] = '\0';
  if (symlinkat(target.data(), to_dir, name) != 0) throw_sys("symlink");
  set_owner(to_dir, name, st, AT_SYMLINK_NOFOLLOW);
}

void copy_special(int to_dir, const char* name, const struct stat& st) {
  if (mknodat(to_dir, name, st.st_mode, st.st_rdev) != 0) throw_sys("mknod");
  set_owner(to_dir, name, st, AT_SYMLINK_NOFOLLOW);
  if (fchmodat(to_dir, name, st.st_mode & 07777, 0) != 0) throw_sys("chmod");
}

void copy_tree(int from_dir, int to_dir);

void copy_directory(int from_dir, int to_dir, const char* name, const struct stat& st) {
  if (mkdirat(to_dir, name, 0700) != 0) throw_sys("mkdir");
  UniqueFd from(openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from) throw_sys("open");
  UniqueFd to(openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!to) throw_sys("open the copy");
  copy_tree(from.get(), to.get());
  set_owner_and_mode(to.get(), st);  // after the contents: a read-only directory could not take them
}

void copy_entry(int from_dir, int to_dir, const char* name) {
  struct stat st;
  if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) throw_sys("stat");
  if (S_ISDIR(st.st_mode))
    copy_directory(from_dir, to_dir, name, st);
  else if (S_ISREG(st.st_mode))
    copy_regular(from_dir, to_dir, name, st);
  else if (S_ISLNK(st.st_mode))
    copy_symlink(from_dir, to_dir, name, st);
  else
    copy_special(to_dir, name, st);  // fifos, sockets, device nodes
  set_times(to_dir, name, st);
}

void copy_tree(int from_dir, int to_dir) {
  // readdir on a dup: closedir closes the fd it was given.
  int dup_fd = fcntl(from_dir, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) throw_sys("dup");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(fdopendir(dup_fd), closedir);
  if (!dir) {
    ::close(dup_fd);
    throw_sys("opendir");
  }
  rewinddir(dir.get());
  while (true) {
    errno = 0;
    dirent* e = readdir(dir.get());
    if (!e) {
      if (errno) throw_sys("readdir");
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    with_context(name, [&] { copy_entry(from_dir, to_dir, name.c_str()); });
  }
}

}  // namespace

void copy_contents(int from_dir, int to_dir) {
  copy_tree(from_dir, to_dir);
  struct stat st;
  if (fstat(from_dir, &st) != 0) throw_sys("stat the source directory");
  with_context("the copy's root", [&] { set_owner_and_mode(to_dir, st); });
}

}  // namespace glassrun::tree_copy
