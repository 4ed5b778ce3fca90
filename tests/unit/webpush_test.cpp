// Web Push: RFC 8291 encryption (pinned to the RFC's Appendix A byte for byte), P-256 point
// validation, VAPID tokens checked the way a push service checks them (with OpenSSL, independently
// of the signing code), push-endpoint rules (no server-side request forgery), the queue's job
// format, and the retry policy of streambed-push.
#define BOOST_TEST_MODULE webpush
#include <boost/test/unit_test.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <rapidjson/document.h>

#include "common/base64.h"
#include "common/push_endpoint.h"
#include "common/push_queue.h"
#include "common/webpush.h"
#include "push/retry_policy.h"

using namespace streambed;

namespace {

std::string B64(std::string_view text) {
    auto bytes = Base64UrlDecode(text);
    BOOST_REQUIRE_MESSAGE(bytes.has_value(), "test data is not base64url: " << text);
    return *bytes;
}

// RFC 8291 Appendix A.
const char* const kPlaintext = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
const char* const kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
const char* const kAsPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const char* const kUaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const char* const kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
const char* const kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
const char* const kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl"
    "7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

// A public key for OpenSSL from the raw point, built here and not with the code under test.
EVP_PKEY* PublicKeyFromPoint(const std::string& point) {
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* key = nullptr;
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

// Verifies a compact ES256 JWS the way a push service does: raw R || S turned into DER for OpenSSL.
bool VerifyEs256(const std::string& jwt, const std::string& public_point) {
    size_t last_dot = jwt.rfind('.');
    if (last_dot == std::string::npos) return false;
    std::string signing_input = jwt.substr(0, last_dot);
    auto sig = Base64UrlDecode(jwt.substr(last_dot + 1));
    if (!sig || sig->size() != 64) return false;
    ECDSA_SIG* ecdsa = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()) + 32, 32, nullptr);
    ECDSA_SIG_set0(ecdsa, r, s);
    unsigned char* der = nullptr;
    int der_len = i2d_ECDSA_SIG(ecdsa, &der);
    EVP_PKEY* key = PublicKeyFromPoint(public_point);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok = key != nullptr && der_len > 0 &&
              EVP_DigestVerifyInit_ex(md, nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
              EVP_DigestVerify(md, der, static_cast<size_t>(der_len),
                               reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    OPENSSL_free(der);
    ECDSA_SIG_free(ecdsa);
    return ok;
}

rapidjson::Document JsonPart(const std::string& jwt, int index) {
    size_t start = 0;
    for (int i = 0; i < index; ++i) start = jwt.find('.', start) + 1;
    size_t end = jwt.find('.', start);
    rapidjson::Document doc;
    auto bytes = Base64UrlDecode(jwt.substr(start, end - start));
    BOOST_REQUIRE(bytes.has_value());
    doc.Parse(bytes->data(), bytes->size());
    BOOST_REQUIRE(!doc.HasParseError() && doc.IsObject());
    return doc;
}

}  // namespace

// ---- RFC 8291 ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rfc8291_appendix_a_is_reproduced_byte_for_byte) {
    webpush::EncryptOptions options;
    options.salt = B64(kSalt);
    options.sender_key = webpush::KeyPair{B64(kAsPublic), B64(kAsPrivate)};
    std::string body = webpush::Encrypt(B64(kPlaintext), B64(kUaPublic), B64(kAuth), options);
    BOOST_TEST(Base64UrlEncode(body) == kBody);
    BOOST_TEST(B64(kPlaintext) == "When I grow up, I want to be a watermelon");
}

BOOST_AUTO_TEST_CASE(encryption_header_layout_and_fresh_randomness) {
    std::string plaintext = R"({"type":"message.new"})";
    std::string a = webpush::Encrypt(plaintext, B64(kUaPublic), B64(kAuth));
    std::string b = webpush::Encrypt(plaintext, B64(kUaPublic), B64(kAuth));
    BOOST_TEST(a.size() == webpush::kHeaderBytes + plaintext.size() + 1 + 16);
    BOOST_TEST(a.substr(16, 5) == std::string("\x00\x00\x10\x00\x41", 5));  // rs = 4096, idlen = 65
    BOOST_TEST(static_cast<unsigned char>(a[21]) == 0x04);                  // keyid: uncompressed point
    BOOST_TEST(webpush::IsValidPublicKey(a.substr(21, 65)));
    BOOST_TEST(a.substr(0, 16) != b.substr(0, 16));    // fresh salt per message
    BOOST_TEST(a.substr(21, 65) != b.substr(21, 65));  // fresh ephemeral key per message
}

BOOST_AUTO_TEST_CASE(encryption_refuses_bad_inputs) {
    BOOST_CHECK_THROW(webpush::Encrypt(std::string(webpush::kMaxPlaintextBytes + 1, 'x'), B64(kUaPublic), B64(kAuth)),
                      webpush::CryptoError);
    BOOST_CHECK_NO_THROW(webpush::Encrypt(std::string(webpush::kMaxPlaintextBytes, 'x'), B64(kUaPublic), B64(kAuth)));
    BOOST_CHECK_THROW(webpush::Encrypt("x", B64(kUaPublic), "short"), webpush::CryptoError);
    std::string off_curve = B64(kUaPublic);
    off_curve[64] ^= 1;
    BOOST_CHECK_THROW(webpush::Encrypt("x", off_curve, B64(kAuth)), webpush::CryptoError);
    // A full message at the limit is exactly what push services accept.
    BOOST_TEST(webpush::Encrypt(std::string(webpush::kMaxPlaintextBytes, 'x'), B64(kUaPublic), B64(kAuth)).size() ==
               4096u);
}

// ---- Keys -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(generated_keys_are_uncompressed_points_on_p256) {
    auto pair = webpush::GenerateKeyPair();
    BOOST_TEST(pair.public_key.size() == 65u);
    BOOST_TEST(pair.private_key.size() == 32u);
    BOOST_TEST(webpush::IsValidPublicKey(pair.public_key));
    BOOST_TEST(webpush::GenerateKeyPair().public_key != pair.public_key);
}

BOOST_AUTO_TEST_CASE(point_validation) {
    std::string good = B64(kUaPublic);
    BOOST_TEST(webpush::IsValidPublicKey(good));
    BOOST_TEST(webpush::IsValidPublicKey(B64(kAsPublic)));

    std::string off_curve = good;
    off_curve[64] ^= 0x01;  // y changed: (x, y') is not on the curve
    BOOST_TEST(!webpush::IsValidPublicKey(off_curve));
    BOOST_TEST(!webpush::IsValidPublicKey(good.substr(0, 64)));  // wrong length
    BOOST_TEST(!webpush::IsValidPublicKey(good + '\x00'));       // wrong length
    BOOST_TEST(!webpush::IsValidPublicKey(""));
    // The same point compressed (0x02/0x03 || X) is refused: the Push API sends uncompressed points.
    std::string compressed =
        std::string(1, (static_cast<unsigned char>(good[64]) & 1) ? '\x03' : '\x02') + good.substr(1, 32);
    BOOST_TEST(!webpush::IsValidPublicKey(compressed));
    std::string hybrid = good;
    hybrid[0] = '\x06';  // the "hybrid" encoding
    BOOST_TEST(!webpush::IsValidPublicKey(hybrid));
    BOOST_TEST(!webpush::IsValidPublicKey(std::string(1, '\x04') + std::string(64, '\0')));  // (0, 0)
    BOOST_TEST(!webpush::IsValidPublicKey(std::string(65, '\0')));

    BOOST_TEST(!webpush::P256dhProblem(kUaPublic).has_value());
    BOOST_TEST(*webpush::P256dhProblem(Base64UrlEncode(off_curve)) == "keys.p256dh is not a point on P-256");
    BOOST_TEST(webpush::P256dhProblem(Base64UrlEncode(compressed)).has_value());
    BOOST_TEST(webpush::P256dhProblem("not+base64/").has_value());
    BOOST_TEST(webpush::P256dhProblem(std::string(200, 'A')).has_value());
    BOOST_TEST(!webpush::AuthSecretProblem(kAuth).has_value());
    BOOST_TEST(!webpush::AuthSecretProblem(std::string(kAuth) + "==").has_value());  // padding tolerated
    BOOST_TEST(*webpush::AuthSecretProblem(Base64UrlEncode(std::string(15, 'a'))) == "keys.auth must be 16 bytes");
    BOOST_TEST(webpush::AuthSecretProblem(Base64UrlEncode(std::string(17, 'a'))).has_value());
    BOOST_TEST(webpush::AuthSecretProblem("").has_value());
}

// ---- RFC 8292 ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(vapid_token_verifies_with_the_public_key) {
    auto key = webpush::GenerateKeyPair();
    std::string jwt = webpush::VapidToken("https://push.example.net", 1800000000, "mailto:ops@example.com", key);
    BOOST_TEST(VerifyEs256(jwt, key.public_key));
    BOOST_TEST(!VerifyEs256(jwt, webpush::GenerateKeyPair().public_key));
    std::string tampered = jwt;
    tampered[tampered.find('.') + 3] ^= 1;
    BOOST_TEST(!VerifyEs256(tampered, key.public_key));

    auto header = JsonPart(jwt, 0);
    BOOST_TEST(std::string(header["alg"].GetString()) == "ES256");
    BOOST_TEST(std::string(header["typ"].GetString()) == "JWT");
    auto payload = JsonPart(jwt, 1);
    BOOST_TEST(std::string(payload["aud"].GetString()) == "https://push.example.net");
    BOOST_TEST(payload["exp"].GetInt64() == 1800000000);
    BOOST_TEST(std::string(payload["sub"].GetString()) == "mailto:ops@example.com");

    std::string header_value = webpush::VapidAuthorization(jwt, key.public_key);
    BOOST_TEST(header_value == "vapid t=" + jwt + ", k=" + Base64UrlEncode(key.public_key));
    // The signature is the 64-byte JWS form, never DER (which starts 0x30 and is 70-72 bytes).
    BOOST_TEST(B64(jwt.substr(jwt.rfind('.') + 1)).size() == 64u);
}

BOOST_AUTO_TEST_CASE(vapid_token_refuses_a_bad_key) {
    webpush::KeyPair bad{B64(kAsPublic), std::string(31, 'x')};
    BOOST_CHECK_THROW(webpush::VapidToken("https://a.example", 1, "mailto:a@b", bad), webpush::CryptoError);
}

// ---- Push endpoints (no server-side request forgery) -----------------------------------------

namespace {
std::optional<std::string> Problem(const std::string& url, bool dev) { return PushEndpointUrlProblem(url, dev); }
}  // namespace

BOOST_AUTO_TEST_CASE(endpoint_accepts_real_push_services) {
    for (bool dev : {false, true}) {
        BOOST_TEST(!Problem("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b", dev).has_value());
        BOOST_TEST(!Problem("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk", dev).has_value());
        BOOST_TEST(!Problem("https://web.push.apple.com/QGuQyavXutnMH?x=1", dev).has_value());
        BOOST_TEST(!Problem("https://wns2-par02p.notify.windows.com/w/?token=BQYAAA%2b", dev).has_value());
        BOOST_TEST(!Problem("HTTPS://Push.Example.NET:8443/x", dev).has_value());
        BOOST_TEST(!Problem("https://8.8.8.8/x", dev).has_value());
        BOOST_TEST(!Problem("https://[2001:4860:4860::8888]/x", dev).has_value());
    }
}

BOOST_AUTO_TEST_CASE(endpoint_scheme_and_shape) {
    BOOST_TEST(*Problem("http://fcm.googleapis.com/x", false) ==
               "endpoint must be an https URL (plain http is allowed only to loopback in development mode)");
    BOOST_TEST(Problem("http://fcm.googleapis.com/x", true).has_value());  // dev: http only to loopback
    BOOST_TEST(*Problem("ftp://push.example.net/x", true) == "endpoint must be an https URL");
    BOOST_TEST(*Problem("push.example.net/x", true) == "endpoint must be an absolute https URL");
    BOOST_TEST(*Problem("", true) == "endpoint is required");
    BOOST_TEST(*Problem("https://user:pw@push.example.net/x", true) == "endpoint must not contain user info");
    BOOST_TEST(*Problem("https://push.example.net@10.0.0.1/x", true) == "endpoint must not contain user info");
    BOOST_TEST(*Problem("https://push.example.net/x#frag", true) == "endpoint must not have a fragment");
    BOOST_TEST(*Problem("https://push.example.net\\@10.0.0.1/", true) == "endpoint must not contain a backslash");
    BOOST_TEST(*Problem("https://push.example.net/a b", true) == "endpoint must be printable ASCII without spaces");
    BOOST_TEST(Problem("https://push.example.net/\xc3\xa9", true).has_value());
    BOOST_TEST(*Problem("https:///x", true) == "endpoint has no host");
    BOOST_TEST(*Problem("https://push.example.net:0/", true) == "endpoint has a bad port");
    BOOST_TEST(*Problem("https://push.example.net:65536/", true) == "endpoint has a bad port");
    BOOST_TEST(*Problem("https://push.example.net:/", true) == "endpoint has a bad port");
    BOOST_TEST(*Problem("https://push.example.net:8x/", true) == "endpoint has a bad port");
    BOOST_TEST(*Problem("https://push_example.net/", true) == "endpoint has a malformed host name");
    BOOST_TEST(*Problem("https://-push.example.net/", true) == "endpoint has a malformed host name");
    BOOST_TEST(*Problem("https://%31%30.0.0.1/", true) == "endpoint has a malformed IPv4 address");
    BOOST_TEST(*Problem("https://%31%30.example/", true) == "endpoint has a malformed host name");
    BOOST_TEST(*Problem("https://[fe80::1%25eth0]/", true) == "endpoint has a malformed IPv6 address");
    BOOST_TEST(*Problem("https://256.1.1.1/", true) == "endpoint has a malformed IPv4 address");
    BOOST_TEST(*Problem("https://push.example.123/", true) == "endpoint has a malformed IPv4 address");
    BOOST_TEST(*Problem("https://push.example.net/" + std::string(2048, 'a'), true) ==
               "endpoint is longer than 2048 bytes");
}

BOOST_AUTO_TEST_CASE(endpoint_refuses_internal_addresses_always) {
    const char* const internal[] = {
        "https://10.0.0.1/",
        "https://10.255.255.255/",
        "https://172.16.0.1/",
        "https://172.31.255.255/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://0/",
        "https://224.0.0.1/",
        "https://255.255.255.255/",
        "https://240.0.0.1/",
        "https://192.0.2.1/",
        "https://198.18.0.1/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[fd12:3456::1]/",
        "https://[ff02::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a00:1]/",
        "https://[2002:a00:1::]/",
        "https://[2001:db8::1]/",
        // Other spellings of internal IPv4 addresses are read as browsers and getaddrinfo read them.
        "https://0xa.0.0.1/",
        "https://012.0.0.1/",
        "https://167772161/",
        "https://10.1/",
        "https://0xa9fea9fe/",
        // Names only internal DNS answers.
        "https://intranet/",
        "https://printer.local/",
        "https://db.internal/",
        "https://nas.home.arpa/",
        "https://router.lan/",
    };
    for (const char* url : internal) {
        for (bool dev : {false, true}) BOOST_TEST(Problem(url, dev).has_value(), url << " dev=" << dev);
    }
    BOOST_TEST(*Problem("https://10.0.0.1/", true) ==
               "endpoint must not point at a private, link-local or reserved address");
    BOOST_TEST(*Problem("https://intranet/", true) == "endpoint host must be a public DNS name");
}

BOOST_AUTO_TEST_CASE(endpoint_loopback_only_in_development_mode) {
    const char* const loopback[] = {
        "https://127.0.0.1/",
        "https://127.1.2.3:8443/",
        "https://[::1]/",
        "https://localhost/",
        "https://LOCALHOST./",
        "https://push.localhost/",
        "https://0x7f.1/",
        "https://2130706433/",
        "https://[::ffff:127.0.0.1]/",
        "http://127.0.0.1:9999/push",
        "http://localhost:9999/push",
        "http://[::1]/",
    };
    for (const char* url : loopback) {
        BOOST_TEST(Problem(url, false).has_value(), url);
        BOOST_TEST(!Problem(url, true).has_value(), url);
    }
    BOOST_TEST(*Problem("https://localhost/", false) ==
               "endpoint must not point at this machine (loopback is allowed in development mode only)");
}

BOOST_AUTO_TEST_CASE(endpoint_origin_is_the_vapid_audience) {
    auto origin = [](const char* url) {
        std::string error;
        auto ep = ParsePushEndpoint(url, &error);
        BOOST_REQUIRE_MESSAGE(ep.has_value(), error);
        return ep->Origin();
    };
    BOOST_TEST(origin("https://fcm.googleapis.com/fcm/send/abc") == "https://fcm.googleapis.com");
    BOOST_TEST(origin("https://Push.Example.NET:443/x?y") == "https://push.example.net");
    BOOST_TEST(origin("https://push.example.net:8443/x") == "https://push.example.net:8443");
    BOOST_TEST(origin("http://127.0.0.1:39123/push/a") == "http://127.0.0.1:39123");
    BOOST_TEST(origin("http://127.0.0.1:80/") == "http://127.0.0.1");
    BOOST_TEST(origin("https://[2001:4860::8888]:444/") == "https://[2001:4860::8888]:444");
    BOOST_TEST(origin("https://0x7f.1/") == "https://127.0.0.1");
    BOOST_TEST(origin("https://localhost./") == "https://localhost");

    std::string error;
    auto ep = ParsePushEndpoint("https://push.example.net?token=1", &error);
    BOOST_REQUIRE(ep.has_value());
    BOOST_TEST(ep->target == "/?token=1");
    BOOST_TEST(ep->HostHeader() == "push.example.net");
    BOOST_TEST(ParsePushEndpoint("http://127.0.0.1:8080/a", &error)->HostHeader() == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(address_classes) {
    BOOST_TEST((ClassifyIpv4(0x08080808) == HostClass::kPublic));
    BOOST_TEST((ClassifyIpv4(0x7f000001) == HostClass::kLoopback));
    BOOST_TEST((ClassifyIpv4(0xa9fea9fe) == HostClass::kInternal));
    BOOST_TEST((ClassifyIpv4(0xac1f0001) == HostClass::kInternal));  // 172.31.0.1
    BOOST_TEST((ClassifyIpv4(0xac200001) == HostClass::kPublic));    // 172.32.0.1
    unsigned char v6[16] = {0x20, 0x01, 0x48, 0x60};
    BOOST_TEST((ClassifyIpv6(v6) == HostClass::kPublic));
    unsigned char teredo[16] = {0x20, 0x01, 0x00, 0x00, 1};
    BOOST_TEST((ClassifyIpv6(teredo) == HostClass::kInternal));
    BOOST_TEST(!HostClassAllowed(HostClass::kLoopback, false));
    BOOST_TEST(HostClassAllowed(HostClass::kLoopback, true));
    BOOST_TEST(!HostClassAllowed(HostClass::kInternal, true));
}

// ---- The queue's job format -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(truncation_counts_characters_not_bytes) {
    BOOST_TEST(TruncateCharacters("hello", 3) == "hel");
    BOOST_TEST(TruncateCharacters("hello", 10) == "hello");
    BOOST_TEST(TruncateCharacters("h\xc3\xa9llo", 2) == "h\xc3\xa9");                             // é is one character
    BOOST_TEST(TruncateCharacters("\xf0\x9f\x8d\x89\xf0\x9f\x8d\x89", 1) == "\xf0\x9f\x8d\x89");  // 🍉
    BOOST_TEST(TruncateCharacters("", 0) == "");
}

BOOST_AUTO_TEST_CASE(job_round_trip_and_payload) {
    PushJob job;
    job.recipient_id = "bob";
    job.cid = "messaging:general";
    job.message_id = "m-1";
    job.text = "line\n\"quoted\" \xf0\x9f\x8d\x89";
    job.sender_id = "alice";
    job.sender_name = "Alice";
    job.queued_at_ms = 1795685895123;
    auto parsed = ParsePushJob(SerializePushJob(job));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->recipient_id == "bob");
    BOOST_TEST(parsed->text == job.text);
    BOOST_TEST(parsed->queued_at_ms == job.queued_at_ms);
    BOOST_TEST(parsed->subscription_id.empty());
    BOOST_TEST(PushPayload(*parsed) ==
               R"({"type":"message.new","cid":"messaging:general","message_id":"m-1","text":"line\n\"quoted\" )"
               "\xf0\x9f\x8d\x89"
               R"(","user":{"id":"alice","name":"Alice"}})");

    job.subscription_id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    job.attempts = 2;
    parsed = ParsePushJob(SerializePushJob(job));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->subscription_id == job.subscription_id);
    BOOST_TEST(parsed->attempts == 2);

    // Text over 200 characters is cut when read; a missing name shows the sender's id.
    auto long_job = ParsePushJob(R"({"v":1,"recipient_id":"b","cid":"t:c","message_id":"m","text":")" +
                                 std::string(300, 'x') + R"(","user":{"id":"a"}})");
    BOOST_REQUIRE(long_job.has_value());
    BOOST_TEST(long_job->text.size() == 200u);
    BOOST_TEST(PushPayload(*long_job).find(R"("user":{"id":"a","name":"a"})") != std::string::npos);

    BOOST_TEST(!ParsePushJob("not json").has_value());
    BOOST_TEST(!ParsePushJob(R"({"v":2,"recipient_id":"b","cid":"t:c","message_id":"m","text":"","user":{"id":"a"}})"));
    BOOST_TEST(!ParsePushJob(R"({"v":1,"cid":"t:c","message_id":"m","text":"","user":{"id":"a"}})"));
    BOOST_TEST(!ParsePushJob(R"({"v":1,"recipient_id":"b","cid":"t:c","message_id":"m","text":""})"));
}

BOOST_AUTO_TEST_CASE(reminder_jobs_keep_their_type) {
    PushJob job;
    job.type = std::string(kPushReminderDue);
    job.recipient_id = "bob";
    job.cid = "messaging:general";
    job.message_id = "m-1";
    job.text = "read me";
    job.sender_id = "alice";
    auto serialized = SerializePushJob(job);
    BOOST_TEST(serialized.rfind(R"({"v":1,"type":"notification.reminder_due","recipient_id":"bob")", 0) == 0);
    auto parsed = ParsePushJob(serialized);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->type == kPushReminderDue);
    BOOST_TEST(PushPayload(*parsed).rfind(R"({"type":"notification.reminder_due","cid":"messaging:general")", 0) == 0);
    // A message job says nothing of its type (as the jobs queued before there were two).
    job.type = std::string(kPushMessageNew);
    BOOST_TEST(SerializePushJob(job).find("\"type\"") == std::string::npos);
    BOOST_TEST(!ParsePushJob(
        R"({"v":1,"type":"user.banned","recipient_id":"b","cid":"t:c","message_id":"m","text":"","user":{"id":"a"}})"));
    BOOST_TEST(!ParsePushJob(
        R"({"v":1,"type":7,"recipient_id":"b","cid":"t:c","message_id":"m","text":"","user":{"id":"a"}})"));

    // The sender of a new message is never its recipient; a reminder's author may be (a reminder
    // on one's own message): the frame keeps the type.
    PushMessage reminder{"messaging:general", "m-1", "read me", "alice", "Alice", {}, std::string(kPushReminderDue)};
    PushJobFrame frame = MessagePushJobFrame(reminder);
    auto own = ParsePushJob(frame.head + R"("alice")" + frame.tail);
    BOOST_REQUIRE(own.has_value());
    BOOST_TEST(own->type == kPushReminderDue);
}

BOOST_AUTO_TEST_CASE(job_frame_holds_any_recipient) {
    // The text imitates the recipient slot: the frame must still cut at the real one.
    PushMessage message{"messaging:general", "m-1", R"(x "recipient_id":"\u0001" \x01 y)" + std::string(300, 'z'),
                        "alice", "Alice", {}};
    PushJobFrame frame = MessagePushJobFrame(message);
    BOOST_TEST(frame.head.rfind(R"({"v":1,"recipient_id":)", 0) == 0);
    auto parsed = ParsePushJob(frame.head + R"("bob")" + frame.tail);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->recipient_id == "bob");
    BOOST_TEST(parsed->cid == "messaging:general");
    BOOST_TEST(parsed->message_id == "m-1");
    BOOST_TEST(parsed->text == TruncateCharacters(message.text, kPushTextChars));
    BOOST_TEST(parsed->sender_id == "alice");
    BOOST_TEST(parsed->sender_name == "Alice");
    BOOST_TEST(parsed->subscription_id.empty());
    // The same job SerializePushJob writes for that recipient.
    PushJob same = *parsed;
    BOOST_TEST(SerializePushJob(same) == frame.head + R"("bob")" + frame.tail);
}

// ---- Retry policy -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(push_service_answers) {
    RetryPolicy p;  // 5 attempts, 1 s base, 1 h cap
    BOOST_TEST((DecidePush(201, std::nullopt, 1, p, 0).outcome == PushOutcome::kDelivered));
    BOOST_TEST((DecidePush(200, std::nullopt, 1, p, 0).outcome == PushOutcome::kDelivered));
    BOOST_TEST((DecidePush(404, std::nullopt, 1, p, 0).outcome == PushOutcome::kGone));
    BOOST_TEST((DecidePush(410, std::nullopt, 3, p, 0).outcome == PushOutcome::kGone));
    for (int status : {400, 401, 403, 413, 301, 302, 307}) {
        BOOST_TEST((DecidePush(status, std::nullopt, 1, p, 0).outcome == PushOutcome::kFailed), status);
    }
    for (int status : {0, 408, 429, 500, 502, 503, 504}) {
        BOOST_TEST((DecidePush(status, std::nullopt, 1, p, 0).outcome == PushOutcome::kRetry), status);
    }
}

BOOST_AUTO_TEST_CASE(exponential_backoff_bounded_attempts_and_retry_after) {
    RetryPolicy p;
    BOOST_TEST(DecidePush(503, std::nullopt, 1, p, 0).delay_ms == 1000);
    BOOST_TEST(DecidePush(503, std::nullopt, 2, p, 0).delay_ms == 2000);
    BOOST_TEST(DecidePush(503, std::nullopt, 4, p, 0).delay_ms == 8000);
    BOOST_TEST(DecidePush(503, std::nullopt, 1, p, 0.999).delay_ms < 1250);                // jitter adds at most 25 %
    BOOST_TEST((DecidePush(503, std::nullopt, 5, p, 0).outcome == PushOutcome::kFailed));  // 5 attempts in all
    // Retry-After is honoured, never shortened...
    BOOST_TEST(DecidePush(429, 7, 1, p, 0).delay_ms == 7000);
    BOOST_TEST(DecidePush(429, 0, 3, p, 0).delay_ms == 4000);
    // ...unless it asks for longer than we wait at all.
    BOOST_TEST((DecidePush(429, 7200, 1, p, 0).outcome == PushOutcome::kFailed));
    RetryPolicy small{10, 1000, 5000};
    BOOST_TEST(DecidePush(500, std::nullopt, 9, small, 0.5).delay_ms == 5000);  // capped
}

BOOST_AUTO_TEST_CASE(retry_after_forms) {
    int64_t now = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
    BOOST_TEST(*ParseRetryAfter("120", now) == 120);
    BOOST_TEST(*ParseRetryAfter(" 3 ", now) == 3);
    BOOST_TEST(*ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30);
    BOOST_TEST(*ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0);  // in the past
    BOOST_TEST(!ParseRetryAfter("", now).has_value());
    BOOST_TEST(!ParseRetryAfter("soon", now).has_value());
    BOOST_TEST(!ParseRetryAfter("-5", now).has_value());
    BOOST_TEST(!ParseRetryAfter("99999999999", now).has_value());
    BOOST_TEST(!ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT trailing", now).has_value());
    BOOST_TEST(!ParseRetryAfter("Wednesday, 21-Oct-15 07:28:30 GMT", now).has_value());
}
