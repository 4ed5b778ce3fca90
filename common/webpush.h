#pragma once
// Web Push cryptography: P-256 keys, RFC 8291 message encryption in RFC 8188's aes128gcm content
// coding, and RFC 8292 VAPID tokens. OpenSSL 3 EVP interfaces only (no deprecated EC_KEY calls).
//
// Keys cross this interface as raw bytes: a public key is the 65-byte uncompressed point
// (0x04 || X || Y), a private key the 32-byte scalar. Callers base64url-encode them for storage
// and for the wire (common/base64.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace streambed::webpush {

class CryptoError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

constexpr size_t kPublicKeyBytes = 65;
constexpr size_t kPrivateKeyBytes = 32;
constexpr size_t kAuthSecretBytes = 16;
constexpr size_t kSaltBytes = 16;
// One record holds the whole message, so the record size only has to exceed it; 4096 is what
// RFC 8291's example and the browsers use.
constexpr uint32_t kRecordSize = 4096;
// The aes128gcm header: salt (16) + record size (4) + key id length (1) + key id (65).
constexpr size_t kHeaderBytes = kSaltBytes + 4 + 1 + kPublicKeyBytes;
// Push services take at most 4096 bytes of body (RFC 8030 §7.2): minus the header, the 16-byte
// GCM tag and the 1-byte padding delimiter, this much plaintext fits.
constexpr size_t kMaxPlaintextBytes = 4096 - kHeaderBytes - 16 - 1;
// RFC 8292 §2: a VAPID token must not be valid for more than 24 hours.
constexpr int64_t kMaxVapidLifetimeSeconds = 24 * 3600;

struct KeyPair {
    std::string public_key;   // 65 bytes, uncompressed point
    std::string private_key;  // 32 bytes
};

// A fresh P-256 key pair. Throws CryptoError.
KeyPair GenerateKeyPair();

// True when `raw` is exactly 65 bytes, starts with 0x04 (uncompressed), and is a point on P-256.
bool IsValidPublicKey(std::string_view raw);

// Checks a browser's PushSubscription keys as they arrive (base64url, padding tolerated).
// nullopt when valid; otherwise the reason, worded for a 400 reply.
std::optional<std::string> P256dhProblem(std::string_view p256dh_base64url);
std::optional<std::string> AuthSecretProblem(std::string_view auth_base64url);

// Injected only by tests: RFC 8291 Appendix A fixes both. In production both are fresh per message.
struct EncryptOptions {
    std::optional<std::string> salt;    // 16 bytes
    std::optional<KeyPair> sender_key;  // the application server's ephemeral ECDH key pair
};

// RFC 8291 §3-4: encrypts `plaintext` for the user agent whose subscription holds `ua_public`
// (65 bytes) and `auth_secret` (16 bytes). Returns the complete request body: the aes128gcm
// header (salt, rs = 4096, keyid = the ephemeral public key) followed by one record ending with
// the 0x02 delimiter and no further padding. Throws CryptoError on a bad key or a plaintext
// longer than kMaxPlaintextBytes.
std::string Encrypt(std::string_view plaintext, std::string_view ua_public, std::string_view auth_secret,
                    const EncryptOptions& options = {});

// RFC 8292 §2: the compact JWS {"typ":"JWT","alg":"ES256"}.{"aud","exp","sub"}, signed with the
// VAPID private key, the signature in JWS form (raw R || S, 64 bytes), not DER. `audience` is the
// push endpoint's origin. Throws CryptoError.
std::string VapidToken(std::string_view audience, int64_t expires_at, std::string_view subject, const KeyPair& key);

// The Authorization header value of RFC 8292 §3: "vapid t=<token>, k=<base64url public key>".
std::string VapidAuthorization(std::string_view token, std::string_view public_key_raw);

}  // namespace streambed::webpush
