#pragma once
// Authorized networks with an `expires` time: which ones are past, and when
// the next one ends. Kept out of the loader on purpose: loading is a pure
// function of the files (the daemon reuses an unchanged file's result), while
// these answers change with the clock. `now` is always passed in.

#include <optional>
#include <vector>

#include "common/rfc3339.h"
#include "config/loader.h"
#include "config/model.h"

namespace dbconnd::config {

// True when `network` has an expiry at or before `now`.
bool Expired(const AuthorizedNetwork& network, SystemTime now);

// The earliest expiry after `now` among the intent's authorized networks;
// nullopt when none expires in the future.
std::optional<SystemTime> NextExpiry(const Intent& intent, SystemTime now);

// A warning for every declared authorized network that has already expired:
// dbconnd leaves it out of the instance, so the entry only misleads readers.
std::vector<Diagnostic> ExpiredNetworkWarnings(const DesiredState& state, SystemTime now);

}  // namespace dbconnd::config
