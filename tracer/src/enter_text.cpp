#include "enter_text.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace glasstrace {

EnterText::EnterText(const gt_sys_enter_full& f, std::size_t size) : f_(f) {
  std::size_t avail = size > offsetof(gt_sys_enter_full, text)
                          ? std::min(size, sizeof(gt_sys_enter_full)) - offsetof(gt_sys_enter_full, text)
                          : 0;
  std::size_t pos = 0;
  // The next entry, if all of it (its NUL too) was sent.
  auto next = [&]() -> std::optional<std::string_view> {
    if (pos >= avail) return std::nullopt;
    const char* start = f.text + pos;
    const void* nul = std::memchr(start, 0, avail - pos);
    if (!nul) return std::nullopt;
    std::string_view entry(start, static_cast<const char*>(nul) - start);
    pos += entry.size() + 1;
    return entry;
  };
  // Up to `want` entries into `into`; false if the record ends before.
  auto take = [&](auto& into, std::size_t want, std::size_t& got) {
    for (got = 0; got < std::min(want, into.size()); got++) {
      auto e = next();
      if (!e) return false;
      into[got] = *e;
    }
    return true;
  };
  std::size_t slots = 0;
  while (slots < GT_NSTR && f.str_arg[slots] != 0xff) slots++;
  if (take(path_names_, f.path_depth, n_path_names_) && take(slots_, slots, n_slots_))
    take(argv_, f.argc, n_argv_);
}

std::optional<std::string_view> EnterText::slot(int arg) const {
  for (std::size_t s = 0; s < n_slots_; s++)
    if (f_.str_arg[s] == arg) return slots_[s];
  return std::nullopt;
}

EnterTextWriter::EnterTextWriter(gt_sys_enter_full& f) : f_(f) {
  std::memset(f_.str_arg, 0xff, sizeof(f_.str_arg));
  f_.path_depth = 0;
  f_.argc = 0;
}

void EnterTextWriter::append(std::string_view s) {
  if (off_ + s.size() + 1 > sizeof(f_.text)) throw std::length_error("gt_sys_enter_full text is full");
  std::memcpy(f_.text + off_, s.data(), s.size());
  f_.text[off_ + s.size()] = 0;
  off_ += s.size() + 1;
}

EnterTextWriter& EnterTextWriter::path_name(std::string_view name) {
  append(name);
  f_.path_depth++;
  return *this;
}

EnterTextWriter& EnterTextWriter::slot(int arg, std::string_view s) {
  if (slots_ >= GT_NSTR) throw std::length_error("gt_sys_enter_full has no free string slot");
  f_.str_arg[slots_++] = static_cast<unsigned char>(arg);
  append(s);
  return *this;
}

EnterTextWriter& EnterTextWriter::argv(std::string_view a) {
  append(a);
  f_.argc++;
  return *this;
}

std::size_t EnterTextWriter::size() const { return offsetof(gt_sys_enter_full, text) + off_; }

}  // namespace glasstrace
