// libFuzzer target: any byte string handed to the loader must come back as
// diagnostics, never as a crash, hang or unbounded allocation.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dbconnd::config::LoadResult r = dbconnd::config::LoadString(text, "fuzz.yaml");
  for (const auto& d : r.diagnostics) {
    // Exercise formatting too; the result is discarded.
    volatile size_t n = dbconnd::config::FormatDiagnostic(d).size();
    (void)n;
  }
  return 0;
}
