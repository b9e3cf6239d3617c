// Checks that a store served by a real stratad holds nothing half-made, for
// the tests that break it on purpose (crash and fault tests).
#pragma once

#include <string>

#include "tests/native_client.h"

namespace strata::testing {

// Under `root`: no staging entry in tmp/, and no ingest except clients' whose
// ref starts with `client_ref_prefix` (the daemon's own never outlive their
// call); and fsck, which re-hashes every blob and matches records with files
// both ways, finds nothing. Failures name `context`.
void ExpectNothingHalfMade(NativeClient& c, const std::string& root,
                           const std::string& client_ref_prefix, const std::string& context);

}  // namespace strata::testing
