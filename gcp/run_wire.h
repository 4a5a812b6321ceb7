#pragma once
// gcp-private: Cloud Run v2 JSON <-> RunWorkload, exposed for tests of the
// read-modify-write rules.

#include <boost/json/value.hpp>

#include "common/status.h"
#include "gcp/types.h"

namespace dbconnd::gcp {

// Reads the modelled parts; keeps the whole document in `raw` unless told
// to drop it.
RunWorkload ParseRunWorkload(const boost::json::value& v, RunKind kind,
                             RawDocuments raw = RawDocuments::kKeep);

// The PATCH body: desired.raw with only the modelled parts replaced
// (per container by name: env and volumeMounts; cloudSqlInstance volumes by
// name, other volumes untouched; vpcAccess connector/egress) and the etag.
StatusOr<boost::json::value> ApplyRunWorkload(const RunWorkload& desired);

}  // namespace dbconnd::gcp
