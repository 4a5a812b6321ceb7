#pragma once
// Writing intents back as YAML (`dbconnd export`). Like the loader, this is
// config/'s job because only config/ links yaml-cpp.
//
// The text is deterministic: keys in the order docs/CONFIG.md lists them,
// optional fields only when they differ from the loader's default, so the
// same Intent always gives the same bytes and LoadString() of the result
// gives back an equal Intent (locations aside). Comments go on their own
// lines above what they describe; each comment line is cut at 200 characters
// and any control character in it is replaced, so a value from outside
// cannot break out of the comment.

#include <string>
#include <vector>

#include "config/model.h"

namespace dbconnd::config {

// Comment lines (without "# ") to place in a document.
struct EmitComments {
  std::vector<std::string> header;                  // above apiVersion
  std::vector<std::string> instance;                // above spec.instance
  std::vector<std::string> connector;               // above spec.connector (or where it would be)
  std::vector<std::vector<std::string>> workloads;  // by index, above each item
  std::vector<std::string> workloads_end;           // after the last workload (what was left out)
  std::vector<std::string> policy;                  // above spec.policy
};

// One YAML document (no leading "---"), ending in a newline.
std::string EmitIntentYaml(const Intent& intent, const EmitComments& comments = {});

// A scalar as it must be written: plain when that reads back as the same
// string (not a bool, null or number look-alike), double-quoted otherwise.
std::string EmitYamlScalar(const std::string& value);

}  // namespace dbconnd::config
