#pragma once
// The fake Kubernetes Lease server is shared with the integration tests.
#include "tests/support/fake_kube_api.h"
