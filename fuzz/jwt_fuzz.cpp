// Tokens: VerifyToken on arbitrary bytes, with development tokens on or off. Whatever it accepts
// under another secret must be a development token; the reason it gives never holds the secret.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/jwt.h"
#include "fuzz/fuzz.h"

using namespace streambed;

namespace {
constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret-0123456789";
constexpr int64_t kNow = 1800000000;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    TokenPolicy policy;
    policy.allow_dev_tokens = (data[0] & 1) != 0;
    std::string_view token(reinterpret_cast<const char*>(data + 1), size - 1);
    TokenResult r = VerifyToken(token, kSecret, policy, kNow);
    FUZZ_CHECK(r.reason.find(kSecret) == std::string::npos);
    if (r.ok()) {
        FUZZ_CHECK(r.token.server || !r.token.user_id.empty());
        FUZZ_CHECK(!(r.token.server && r.token.dev));
        if (!policy.allow_dev_tokens) FUZZ_CHECK(!r.token.dev);
        FUZZ_CHECK(token.size() <= kMaxTokenBytes);
        if (r.token.expires_at) FUZZ_CHECK(*r.token.expires_at + policy.leeway_seconds >= kNow);
    }
    // The same bytes with another secret are never accepted, unless as a development token.
    TokenResult other = VerifyToken(token, "another-secret-another-secret-another-secret", policy, kNow);
    if (other.ok()) FUZZ_CHECK(other.token.dev);
    return 0;
}
