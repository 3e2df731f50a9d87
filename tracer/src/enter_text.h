// The text of a full enter record (events.h, gt_sys_enter_full): its
// entries as far as the record's size carries them, read by the decoder;
// and the same layout written, as the BPF side writes it, for tests and
// benchmarks.
#pragma once

#include <cstddef>
#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "events.h"

namespace glasstrace {

class EnterText {
 public:
  // `size`: the record's bytes (h.size); an entry whose NUL is not among
  // them was not sent.
  EnterText(const gt_sys_enter_full& f, std::size_t size);

  // The string of args[arg], if its slot was sent.
  std::optional<std::string_view> slot(int arg) const;
  // The write fd's dentry names (leaf first), argv: as many as were sent.
  std::span<const std::string_view> path_names() const { return {path_names_.data(), n_path_names_}; }
  std::span<const std::string_view> argv() const { return {argv_.data(), n_argv_}; }

 private:
  const gt_sys_enter_full& f_;
  // Fixed arrays: the decoder reads one of these per full record.
  std::array<std::string_view, GT_PATH_DEPTH> path_names_;
  std::array<std::string_view, GT_NSTR> slots_;
  std::array<std::string_view, GT_ARGV_N> argv_;
  std::size_t n_path_names_ = 0, n_slots_ = 0, n_argv_ = 0;
};

// Fills a record's text in events.h's order (path names, slots, argv); each
// entry is written whole with its NUL, so tests can also write strings
// longer than the BPF side's bounds.
class EnterTextWriter {
 public:
  explicit EnterTextWriter(gt_sys_enter_full& f);
  EnterTextWriter& path_name(std::string_view name);
  EnterTextWriter& slot(int arg, std::string_view s);
  EnterTextWriter& argv(std::string_view a);
  // Bytes of the record up to the end of the text written so far.
  std::size_t size() const;

 private:
  void append(std::string_view s);
  gt_sys_enter_full& f_;
  std::size_t off_ = 0;
  int slots_ = 0;
};

}  // namespace glasstrace
