// The token rules of API.md "Auth" and RFC 8725: every bad-token case of issue 2 is refused with
// the right reason, and getstream.io's own tokens (made by the stream-chat SDK) verify.
#define BOOST_TEST_MODULE jwt
#include <boost/test/unit_test.hpp>

#include "common/base64.h"
#include "common/jwt.h"

#include <openssl/hmac.h>

using namespace streambed;

namespace {
const std::string kSecret = "streambed-test-secret-0123456789abcdef";
constexpr int64_t kNow = 1800000000;

TokenPolicy Strict() { return TokenPolicy{}; }
TokenPolicy Dev() {
    TokenPolicy p;
    p.allow_dev_tokens = true;
    return p;
}

std::string Hs256(const std::string& data, const std::string& key) {
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &len);
    return Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
}

// A token built by hand, so every field can be wrong in its own way.
std::string Make(const std::string& header_json, const std::string& payload_json, const std::string& key = kSecret) {
    std::string body = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
    return body + "." + Hs256(body, key);
}
std::string Make(const std::string& payload_json) { return Make(R"({"alg":"HS256","typ":"JWT"})", payload_json); }

TokenError Check(const std::string& token, TokenPolicy policy = Strict()) {
    return VerifyToken(token, kSecret, policy, kNow).error;
}
}  // namespace

BOOST_AUTO_TEST_CASE(sdk_create_token_verifies) {
    // new StreamChat('key', kSecret).createToken('alice') from stream-chat 9.53.0
    auto r = VerifyToken("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.85b3hFB7enivEyp-qFG2ZjrvZvtO8jGiCXbbW01pseU",
                         kSecret, Strict(), kNow);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.token.user_id == "alice");
    BOOST_TEST(!r.token.server);
    BOOST_TEST(!r.token.expires_at.has_value());
}

BOOST_AUTO_TEST_CASE(sdk_token_with_exp_and_iat) {
    // createToken('bob', 2000000000, 1700000000)
    auto r = VerifyToken("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYm9iIiwiZXhwIjoyMDAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDB9.fGXyXIAXax10QwpayQmrmBDj5ZT3jjcYp-iJl-3vQgQ",
                         kSecret, Strict(), kNow);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.token.user_id == "bob");
    BOOST_TEST(*r.token.expires_at == 2000000000);
    BOOST_TEST(*r.token.issued_at == 1700000000);
}

BOOST_AUTO_TEST_CASE(server_token) {
    auto r = VerifyToken(SignServerToken(kSecret), kSecret, Strict(), kNow);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.token.server);
    BOOST_TEST(r.token.user_id.empty());
}

BOOST_AUTO_TEST_CASE(sign_round_trips) {
    auto r = VerifyToken(SignUserToken("carol", kSecret, kNow + 60, kNow), kSecret, Strict(), kNow);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.token.user_id == "carol");
    auto t = VerifyToken(SignWsTicket("dave", "messaging:general", kNow, kNow + 600, kSecret), kSecret, Strict(), kNow);
    BOOST_TEST(t.ok());
    BOOST_TEST(t.token.scope == "ws");
    BOOST_TEST(t.token.cid == "messaging:general");
}

BOOST_AUTO_TEST_CASE(dev_tokens_only_in_dev_mode) {
    // StreamChat#devToken('carol'): standard base64 with padding, literal signature.
    const std::string dev = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiY2Fyb2wifQ==.devtoken";
    BOOST_TEST((Check(dev) == TokenError::kSignature));
    auto r = VerifyToken(dev, kSecret, Dev(), kNow);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.token.dev);
    BOOST_TEST(r.token.user_id == "carol");
}

BOOST_AUTO_TEST_CASE(dev_token_can_never_be_a_server_token) {
    std::string t = Base64UrlEncode(R"({"alg":"HS256"})") + "." + Base64UrlEncode(R"({"server":true})") + ".devtoken";
    BOOST_TEST((Check(t, Dev()) == TokenError::kSignature));
}

BOOST_AUTO_TEST_CASE(tampered_payload) {
    std::string good = Make(R"({"user_id":"alice"})");
    std::string other = Make(R"({"user_id":"admin"})");
    std::string swapped = other.substr(0, other.rfind('.')) + good.substr(good.rfind('.'));
    BOOST_TEST((Check(swapped) == TokenError::kSignature));
}

BOOST_AUTO_TEST_CASE(flipped_signature_character) {
    std::string t = Make(R"({"user_id":"alice"})");
    t[t.size() - 5] = t[t.size() - 5] == 'A' ? 'B' : 'A';
    BOOST_TEST((Check(t) == TokenError::kSignature));
}

BOOST_AUTO_TEST_CASE(wrong_key) {
    BOOST_TEST((Check(Make(R"({"alg":"HS256"})", R"({"user_id":"alice"})", "another-secret-of-sufficient-length!!")) ==
                TokenError::kSignature));
}

BOOST_AUTO_TEST_CASE(algorithm_none_and_others_refused) {
    for (const char* header : {R"({"alg":"none"})", R"({"alg":"NONE"})", R"({"alg":"RS256"})", R"({"alg":"ES256"})",
                               R"({"alg":"HS512"})", R"({"alg":"hs256"})", R"({"typ":"JWT"})", R"({"alg":256})"}) {
        BOOST_TEST_CONTEXT(header) {
            BOOST_TEST((Check(Make(header, R"({"user_id":"alice"})")) == TokenError::kAlgorithm));
        }
    }
    // The classic unsigned token: empty signature part.
    std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(R"({"user_id":"alice"})") + ".";
    BOOST_TEST(!VerifyToken(none, kSecret, Strict(), kNow).ok());
}

BOOST_AUTO_TEST_CASE(crit_header_refused) {
    BOOST_TEST((Check(Make(R"({"alg":"HS256","crit":["exp"]})", R"({"user_id":"alice"})")) == TokenError::kAlgorithm));
}

BOOST_AUTO_TEST_CASE(key_injection_headers_are_ignored) {
    // jku/x5u/jwk/kid cannot choose the key: a token signed with another key still fails...
    std::string header = R"({"alg":"HS256","jku":"https://evil.example/k","kid":"../../etc/passwd","jwk":{"k":"x"}})";
    BOOST_TEST((Check(Make(header, R"({"user_id":"alice"})", "attacker-chosen-key-of-enough-length!")) ==
                TokenError::kSignature));
    // ...and one signed with the app secret is judged on its signature alone.
    BOOST_TEST(VerifyToken(Make(header, R"({"user_id":"alice"})"), kSecret, Strict(), kNow).ok());
}

BOOST_AUTO_TEST_CASE(expiry_with_five_second_leeway) {
    BOOST_TEST((Check(Make(R"({"user_id":"a","exp":)" + std::to_string(kNow - 6) + "}")) == TokenError::kExpired));
    BOOST_TEST((Check(Make(R"({"user_id":"a","exp":)" + std::to_string(kNow - 5) + "}")) == TokenError::kNone));
    BOOST_TEST((Check(Make(R"({"user_id":"a","exp":)" + std::to_string(kNow + 100) + "}")) == TokenError::kNone));
}

BOOST_AUTO_TEST_CASE(not_before_with_five_second_leeway) {
    BOOST_TEST((Check(Make(R"({"user_id":"a","nbf":)" + std::to_string(kNow + 6) + "}")) == TokenError::kNotYetValid));
    BOOST_TEST((Check(Make(R"({"user_id":"a","nbf":)" + std::to_string(kNow + 5) + "}")) == TokenError::kNone));
    // cpp-jwt computes nbf - leeway in unsigned arithmetic; nbf 0 must not wrap into the future.
    BOOST_TEST((Check(Make(R"({"user_id":"a","nbf":0})")) == TokenError::kNone));
}

BOOST_AUTO_TEST_CASE(signature_checked_before_claims) {
    // An expired token with a bad signature is a bad signature: no claim is trusted unsigned.
    std::string t = Make(R"({"alg":"HS256"})", R"({"user_id":"a","exp":1})", "wrong-key-wrong-key-wrong-key-wrong!");
    BOOST_TEST((Check(t) == TokenError::kSignature));
}

BOOST_AUTO_TEST_CASE(missing_or_bad_claims) {
    BOOST_TEST((Check(Make(R"({"role":"admin"})")) == TokenError::kMissingClaim));
    BOOST_TEST((Check(Make(R"({"user_id":""})")) == TokenError::kMissingClaim));
    BOOST_TEST((Check(Make(R"({"user_id":42})")) == TokenError::kMissingClaim));
    BOOST_TEST((Check(Make(R"({"server":false})")) == TokenError::kMissingClaim));
    BOOST_TEST((Check(Make(R"({"user_id":"a","exp":"tomorrow"})")) == TokenError::kMalformed));
    BOOST_TEST((Check(Make(R"({"user_id":"a","nbf":{}})")) == TokenError::kMalformed));
    BOOST_TEST((Check(Make(R"({"user_id":"a","exp":1e300})")) == TokenError::kMalformed));
}

BOOST_AUTO_TEST_CASE(malformed_shapes) {
    std::string good = Make(R"({"user_id":"alice"})");
    BOOST_TEST((Check("") == TokenError::kMalformed));
    BOOST_TEST((Check("abc") == TokenError::kMalformed));
    BOOST_TEST((Check("a.b") == TokenError::kMalformed));
    BOOST_TEST((Check(good + ".extra") == TokenError::kMalformed));
    BOOST_TEST((Check(good.substr(0, good.size() / 2)) != TokenError::kNone));
    BOOST_TEST((Check("%%%.***.!!!") == TokenError::kMalformed));
    BOOST_TEST((Check(Base64UrlEncode("[1,2]") + "." + Base64UrlEncode("{}") + ".sig") == TokenError::kMalformed));
    BOOST_TEST((Check(Base64UrlEncode(R"({"alg":"HS256"})") + "." + Base64UrlEncode("not json") + ".sig") ==
                TokenError::kMalformed));
}

BOOST_AUTO_TEST_CASE(oversized_token_refused_before_parsing) {
    std::string big = Make(R"({"user_id":"alice","pad":")" + std::string(64 * 1024, 'x') + "\"}");
    auto r = VerifyToken(big, kSecret, Strict(), kNow);
    BOOST_TEST((r.error == TokenError::kMalformed));
    BOOST_TEST(r.reason == "token is too long");
}

BOOST_AUTO_TEST_CASE(reasons_never_echo_the_token) {
    std::string t = Make(R"({"alg":"HS256"})", R"({"user_id":"a"})", "wrong-key-wrong-key-wrong-key-wrong!");
    auto r = VerifyToken(t, kSecret, Strict(), kNow);
    BOOST_TEST(r.reason.find(t.substr(0, 10)) == std::string::npos);
    BOOST_TEST(r.reason.find(kSecret) == std::string::npos);
}
