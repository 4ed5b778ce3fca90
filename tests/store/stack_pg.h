#pragma once
// The test stack's PostgreSQL, for the store tests that tests/contracts/store.test.mjs runs
// against it. Include after <boost/test/unit_test.hpp> (and its BOOST_TEST_MODULE).

#include <cstdlib>
#include <string>

namespace streambed::testing {

// The stack's connection string (STREAMBED_PG); the test case fails when it is not set.
inline std::string StackConninfo() {
    const char* conninfo = std::getenv("STREAMBED_PG");
    if (conninfo == nullptr || *conninfo == '\0') {
        BOOST_FAIL("STREAMBED_PG is not set: run this through scripts/test (tests/contracts/store.test.mjs)");
    }
    return conninfo;
}

}  // namespace streambed::testing
