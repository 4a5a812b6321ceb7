#pragma once
// Internal to config/: the only header that includes yaml-cpp.

#include <optional>

#include <yaml-cpp/yaml.h>

#include "config/load_internal.h"

namespace dbconnd::config::internal {

// One bounded walk over the whole document, aliases included: enforces the
// node, depth and scalar-size limits (a billion-laughs document stops at
// Limits::max_nodes instead of expanding) and refuses literal passwords in
// any value, known key or not. Returns false when a limit was hit and the
// document must not be decoded further.
bool ScanDocument(Sink& sink, const YAML::Node& root);

// Structural decoding: types, unknown keys, enums, formats of single values.
// Returns the intent when the document is a DatabaseConnectivity (even with
// errors, which are in the sink), nullopt when it is not one at all.
std::optional<Intent> DecodeDocument(Sink& sink, const YAML::Node& root);

}  // namespace dbconnd::config::internal
