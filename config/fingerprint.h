#pragma once
// What an intent says, as one string: equal exactly when two intents ask for
// the same thing. Derived from the model's fields by reflection
// (Boost.PFR), so a field added to config::Intent (or any struct inside it)
// is part of the fingerprint without anyone remembering to list it; a field
// of a type the fingerprint cannot spell fails to compile. Where a value was
// written (SourceLocation) is not what it says, and is left out.

#include <string>

#include "config/model.h"

namespace dbconnd::config {

std::string Fingerprint(const Intent& intent);

}  // namespace dbconnd::config
