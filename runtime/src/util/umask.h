// umask(0) for a scope: files made inside get exactly the mode asked for.
#pragma once

#include <sys/stat.h>

namespace glassrun {

class UmaskCleared {
 public:
  UmaskCleared() : old_(umask(0)) {}
  ~UmaskCleared() { umask(old_); }
  UmaskCleared(const UmaskCleared&) = delete;
  UmaskCleared& operator=(const UmaskCleared&) = delete;

 private:
  mode_t old_;
};

}  // namespace glassrun
