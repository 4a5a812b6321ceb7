#pragma once
// DBCONND_CHECK: the one way a broken invariant stops the process. It prints
// where and what, then aborts (so a core dump / ASan report follows).

namespace dbconnd::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace dbconnd::internal

#define DBCONND_CHECK(cond) \
  ((cond) ? (void)0 : ::dbconnd::internal::CheckFailed(#cond, __FILE__, __LINE__))
