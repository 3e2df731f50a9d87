#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <utility>

#include "capture_plan.h"
#include "events.h"
#include "glasstrace.skel.h"
#include "sched.skel.h"
#include "sched_event.h"
#include "syscalls.h"
#include "util/fd.h"

namespace glasstrace {
namespace {

bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (!g_verbose && level != LIBBPF_WARN) return 0;
  if (!g_verbose) return 0;  // our own one-line errors say what failed
  return vfprintf(stderr, format, args);
}

#include "min_btf.inc"

// The minimised BTF serves only the kernel it was cut from at build time.
// GLASSTRACE_FULL_KERNEL_BTF=1 forces the fallback (the tests use it, since
// the build machine's kernel always fits).
bool min_btf_fits_running_kernel() {
  utsname u{};
  struct stat st;
  const char* force_full = getenv("GLASSTRACE_FULL_KERNEL_BTF");
  if (force_full && *force_full && strcmp(force_full, "0")) return false;
  return kMinBtfRelease[0] && uname(&u) == 0 && !strcmp(u.release, kMinBtfRelease) &&
         !strcmp(u.version, kMinBtfVersion) && stat("/sys/kernel/btf/vmlinux", &st) == 0 &&
         st.st_size == kMinBtfKernelBtfSize;
}

// The minimised BTF in a memfd, for libbpf's btf_custom_path; an empty fd if
// it does not fit this kernel (libbpf then parses the full kernel BTF).
glassrun::UniqueFd min_btf_file() {
  if (!min_btf_fits_running_kernel()) return glassrun::UniqueFd();
  glassrun::UniqueFd fd(memfd_create("glasstrace-min-btf", MFD_CLOEXEC));
  if (fd.get() < 0 || write(fd.get(), kMinBtf, sizeof kMinBtf) != static_cast<ssize_t>(sizeof kMinBtf)) fd.reset();
  return fd;
}

int on_ring_record(void* ctx, void* data, size_t size) {
  (*static_cast<Tracer::RecordSink*>(ctx))(data, size);
  return 0;
}

int on_sched_ring_record(void* ctx, void* data, size_t size) {
  auto* tracer = static_cast<Tracer*>(ctx);
  if (size >= sizeof(gt_sched) && tracer->on_sched) tracer->on_sched(*static_cast<const gt_sched*>(data));
  return 0;
}

}  // namespace

Tracer::Tracer(bool verbose, bool sched) {
  g_verbose = verbose;
  libbpf_set_print(libbpf_print);
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux"))
    throw TracerError("kernel BTF not found at /sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF=y)");
  glassrun::UniqueFd min_btf = min_btf_file();
  std::string min_btf_path = fmt::format("/proc/self/fd/{}", min_btf.get());
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = min_btf.get() >= 0 ? min_btf_path.c_str() : nullptr);
  // -v: the verifier's statistics per program too (BPF_LOG_STATS: time, insns processed).
  if (verbose) opts.kernel_log_level = 4;
  skel_ = glasstrace_bpf__open_opts(&opts);
  if (!skel_) throw TracerError(fmt::format("opening the BPF object failed: {}", strerror(errno)));
  // USDT programs sleep to fault in step-name strings (libbpf 1.1 has no
  // "usdt.s" section, so the flag is set here).
  bpf_program__set_flags(skel_->progs.on_step_begin, BPF_F_SLEEPABLE);
  bpf_program__set_flags(skel_->progs.on_step_end, BPF_F_SLEEPABLE);
  // A smaller ring buffer, for the test that forces drops (a power of two,
  // at least a page; anything else is refused by the kernel at load).
  if (const char* bytes = getenv("GLASSTRACE_RINGBUF_BYTES"))
    bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(strtoul(bytes, nullptr, 0)));
  // Records wake the reader once per quarter of the ring (glasstrace.bpf.c).
  unsigned ring_bits = std::bit_width(bpf_map__max_entries(skel_->maps.events));
  skel_->rodata->wake_shift = std::max(ring_bits, 3u) - 3;
  auto load_start = std::chrono::steady_clock::now();
  int err = glasstrace_bpf__load(skel_);
  load_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - load_start).count();
  if (err) {
    int e = -err;
    glasstrace_bpf__destroy(skel_);
    skel_ = nullptr;
    if (e == EPERM || e == EACCES)
      throw TracerError("loading BPF programs needs root or CAP_BPF+CAP_PERFMON: operation not permitted");
    throw TracerError(fmt::format("loading BPF programs failed: {} (run with -v for the verifier log)", strerror(e)));
  }
  fill_capture_plan();
  if (sched) load_sched(opts.btf_custom_path);
}

Tracer::~Tracer() {
  detach_usdt();
  if (rb_) ring_buffer__free(rb_);
  if (sched_) glasstrace_sched_bpf__destroy(sched_);
  if (skel_) glasstrace_bpf__destroy(skel_);
}

// The scheduler object follows the same pids: its `followed` map is the
// syscall object's (one map, grown on fork by on_fork).
void Tracer::load_sched(const char* btf_custom_path) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_custom_path);
  sched_ = glasstrace_sched_bpf__open_opts(&opts);
  if (!sched_) throw TracerError(fmt::format("opening the sched BPF object failed: {}", strerror(errno)));
  int err = bpf_map__reuse_fd(sched_->maps.followed, bpf_map__fd(skel_->maps.followed));
  if (!err) err = glasstrace_sched_bpf__load(sched_);
  if (err) {
    glasstrace_sched_bpf__destroy(sched_);
    sched_ = nullptr;
    throw TracerError(fmt::format("loading the sched BPF programs failed: {} (--no-sched records without them)",
                                  strerror(-err)));
  }
}

uint64_t Tracer::sched_dropped() const {
  if (!sched_) return 0;
  uint32_t key = GT_SCHED_STAT_DROPPED;
  uint64_t v = 0;
  bpf_map_lookup_elem(bpf_map__fd(sched_->maps.sched_stats), &key, &v);
  return v;
}

void Tracer::fill_capture_plan() {
  int fd = bpf_map__fd(skel_->maps.capture_plan);
  for (long nr = 0; nr <= syscall_max_nr() && nr < 512; nr++) {
    gt_plan p = capture_plan_of(nr);
    if (!p.str_mask && !p.extra && !p.struct_len && !p.at_exit) continue;
    uint32_t key = static_cast<uint32_t>(nr);
    if (bpf_map_update_elem(fd, &key, &p, BPF_ANY))
      throw TracerError(fmt::format("filling the capture plan failed: {}", strerror(errno)));
  }
}

void Tracer::follow(uint32_t tgid) {
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.followed), &tgid, &one, BPF_ANY))
    throw TracerError(fmt::format("following pid {} failed: {}", tgid, strerror(errno)));
  // Its mount namespace is not a container's: no exec_audit there.
  struct stat st;
  if (stat(fmt::format("/proc/{}/ns/mnt", tgid).c_str(), &st) == 0) {
    uint32_t mntns = static_cast<uint32_t>(st.st_ino);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.audited), &mntns, &one, BPF_ANY);
  }
}

void Tracer::unfollow(uint32_t tgid) {
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.followed), &tgid);
  new_follow_epoch();
}

void Tracer::new_follow_epoch() {
  // Tasks' states note that they were followed: a new epoch, after the
  // deletes, makes every task look in `followed` again (glasstrace.bpf.c,
  // followed_state).
  __atomic_fetch_add(&skel_->data->follow_epoch, 1, __ATOMIC_SEQ_CST);
}

void Tracer::unfollow_all() {
  int fd = bpf_map__fd(skel_->maps.followed);
  // The keys first, in one walk of the buckets (a look-up from the start
  // after each delete would walk them once per key), then the deletes.
  std::vector<uint32_t> keys;
  uint32_t key;
  for (int err = bpf_map_get_next_key(fd, nullptr, &key); err == 0;
       err = bpf_map_get_next_key(fd, &keys.back(), &key))
    keys.push_back(key);
  for (uint32_t k : keys) bpf_map_delete_elem(fd, &k);
  new_follow_epoch();
}

namespace {

// Attaches each program whose link is not there yet. On a failure the ones
// attached by this call stay: the caller's detach (or the skeleton's
// destroy) takes them.
void attach_each(std::initializer_list<std::pair<struct bpf_program*, struct bpf_link**>> programs) {
  for (auto [prog, link] : programs) {
    if (*link) continue;
    *link = bpf_program__attach(prog);
    if (!*link)
      throw TracerError(fmt::format("attaching {} failed: {}", bpf_program__name(prog), strerror(errno)));
  }
}

void detach_each(std::initializer_list<struct bpf_link**> links) {
  for (struct bpf_link** link : links) {
    bpf_link__destroy(*link);
    *link = nullptr;
  }
}

}  // namespace

void Tracer::attach(bool sched) {
  attach_each({{skel_->progs.on_sys_enter, &skel_->links.on_sys_enter},
               {skel_->progs.on_sys_exit, &skel_->links.on_sys_exit},
               {skel_->progs.on_fork, &skel_->links.on_fork},
               {skel_->progs.on_exec, &skel_->links.on_exec},
               {skel_->progs.on_exit, &skel_->links.on_exit}});
  if (sched && sched_)
    attach_each({{sched_->progs.on_sched_switch, &sched_->links.on_sched_switch},
                 {sched_->progs.on_sched_waking, &sched_->links.on_sched_waking},
                 {sched_->progs.on_sched_wakeup_new, &sched_->links.on_sched_wakeup_new}});
}

bool Tracer::attached() const { return skel_->links.on_sys_enter != nullptr; }

void Tracer::detach() {
  detach_each({&skel_->links.on_sys_enter, &skel_->links.on_sys_exit, &skel_->links.on_fork,
               &skel_->links.on_exec, &skel_->links.on_exit});
  if (sched_)
    detach_each({&sched_->links.on_sched_switch, &sched_->links.on_sched_waking, &sched_->links.on_sched_wakeup_new});
}

bool Tracer::attach_usdt(const std::string& binary, std::string* why) {
  struct bpf_link* b = bpf_program__attach_usdt(skel_->progs.on_step_begin, -1, binary.c_str(),
                                                "glassrun", "step_begin", nullptr);
  if (!b) {
    if (why) *why = fmt::format("step_begin: {}", strerror(errno));
    return false;
  }
  struct bpf_link* e = bpf_program__attach_usdt(skel_->progs.on_step_end, -1, binary.c_str(),
                                                "glassrun", "step_end", nullptr);
  if (!e) {
    if (why) *why = fmt::format("step_end: {}", strerror(errno));
    bpf_link__destroy(b);
    return false;
  }
  usdt_links_.push_back(b);
  usdt_links_.push_back(e);
  return true;
}

void Tracer::detach_usdt() {
  for (struct bpf_link* link : usdt_links_) bpf_link__destroy(link);
  usdt_links_.clear();
}

void Tracer::set_record_sink(RecordSink sink) {
  sink_ = std::move(sink);
  if (rb_) return;
  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), on_ring_record, &sink_, nullptr);
  if (!rb_) throw TracerError(fmt::format("ring buffer setup failed: {}", strerror(errno)));
  if (sched_ && ring_buffer__add(rb_, bpf_map__fd(sched_->maps.sched_events), on_sched_ring_record, this))
    throw TracerError(fmt::format("sched ring buffer setup failed: {}", strerror(errno)));
}

int Tracer::ring_fd() const { return rb_ ? ring_buffer__epoll_fd(rb_) : -1; }

int Tracer::poll(Recorder& rec, int timeout_ms) {
  if (!rb_) set_record_sink([&rec](const void* data, std::size_t size) { rec.on_record(data, size); });
  return poll(timeout_ms);
}

int Tracer::poll(int timeout_ms) {
  int n = timeout_ms == 0 ? ring_buffer__consume(rb_) : ring_buffer__poll(rb_, timeout_ms);
  if (n < 0 && n != -EINTR) throw TracerError(fmt::format("polling the ring buffer failed: {}", strerror(-n)));
  return n < 0 ? 0 : n;
}

void Tracer::stop_polling() {
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
}

uint64_t Tracer::dropped() const {
  uint32_t key = GT_STAT_DROPPED;
  uint64_t v = 0;
  bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &key, &v);
  return v;
}

}  // namespace glasstrace
