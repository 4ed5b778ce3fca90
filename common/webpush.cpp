#include "common/webpush.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <memory>

#include "common/base64.h"
#include "common/json.h"

namespace streambed::webpush {

namespace {

// ---- OpenSSL ownership ----------------------------------------------------------------------

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BnFree {
    void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using Params = std::unique_ptr<OSSL_PARAM, ParamFree>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

// Secrets derived on the way (ECDH output, PRKs, CEK, nonce) are wiped when they go out of scope.
class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string bytes) : bytes_(std::move(bytes)) {}
    ~Secret() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    const std::string& str() const { return bytes_; }

  private:
    std::string bytes_;
};

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

[[noreturn]] void Fail(const char* what) { throw CryptoError(std::string("web push crypto: ") + what); }

// ---- Keys -----------------------------------------------------------------------------------

constexpr const char* kCurve = "prime256v1";  // P-256

// An EC key from raw bytes: public only, or the pair when `private_key` is given. OpenSSL decodes
// the point and refuses one that is not on the curve.
Pkey LoadKey(std::string_view public_key, std::optional<std::string_view> private_key) {
    ParamBld bld(OSSL_PARAM_BLD_new());
    if (!bld) Fail("out of memory");
    Bn d;
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kCurve, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, public_key.data(), public_key.size()) !=
            1) {
        Fail("cannot build key parameters");
    }
    if (private_key) {
        d.reset(BN_bin2bn(Bytes(*private_key), static_cast<int>(private_key->size()), nullptr));
        if (!d || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1)
            Fail("cannot build key parameters");
    }
    Params params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) Fail("cannot create an EC context");
    EVP_PKEY* raw = nullptr;
    int selection = private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1 || raw == nullptr) return nullptr;
    return Pkey(raw);
}

// The full public-key check of SP 800-56A (on the curve, right order, not infinity).
bool PublicKeyChecks(EVP_PKEY* key) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

Pkey LoadPeerKey(std::string_view public_key) {
    if (!IsValidPublicKey(public_key)) Fail("the subscription's p256dh is not a P-256 point");
    Pkey key = LoadKey(public_key, std::nullopt);
    if (!key) Fail("the subscription's p256dh is not a P-256 point");
    return key;
}

Pkey LoadKeyPair(const KeyPair& pair) {
    if (pair.private_key.size() != kPrivateKeyBytes || !IsValidPublicKey(pair.public_key)) Fail("malformed key pair");
    Pkey key = LoadKey(pair.public_key, std::string_view(pair.private_key));
    if (!key) Fail("malformed key pair");
    return key;
}

// ---- Primitives -----------------------------------------------------------------------------

std::string HmacSha256(std::string_view key, std::string_view data) {
    unsigned char out[32];
    size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), Bytes(data), data.size(), out,
                  sizeof out, &len) == nullptr ||
        len != sizeof out) {
        Fail("HMAC-SHA-256 failed");
    }
    std::string result(reinterpret_cast<char*>(out), len);
    OPENSSL_cleanse(out, sizeof out);
    return result;
}

// RFC 5869 with SHA-256, for outputs of at most one hash block (all RFC 8291 needs):
// Expand(PRK, info, L) = first L bytes of HMAC(PRK, info || 0x01).
std::string HkdfExpand(std::string_view prk, std::string_view info, size_t length) {
    std::string block = HmacSha256(prk, std::string(info) + '\x01');
    block.resize(length);
    return block;
}

std::string Ecdh(EVP_PKEY* own, EVP_PKEY* peer) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
    size_t len = 0;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
        Fail("ECDH failed");
    }
    std::string secret(len, '\0');
    if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &len) != 1) Fail("ECDH failed");
    secret.resize(len);
    return secret;
}

std::string Aes128GcmSeal(std::string_view key, std::string_view nonce, std::string_view plaintext) {
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_128_gcm(), Bytes(key), Bytes(nonce), nullptr) != 1)
        Fail("AES-128-GCM init failed");
    std::string out(plaintext.size() + 16, '\0');
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    int total = 0;
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) != 1)
        Fail("AES-128-GCM failed");
    total += len;
    if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1) Fail("AES-128-GCM failed");
    total += len;
    OSSL_PARAM tag_params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, dst + total, 16),
                               OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_get_params(ctx.get(), tag_params) != 1) Fail("AES-128-GCM tag failed");
    out.resize(static_cast<size_t>(total) + 16);
    return out;
}

std::string RandomBytes(size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) Fail("no randomness");
    return out;
}

}  // namespace

// ---- Keys -----------------------------------------------------------------------------------

KeyPair GenerateKeyPair() {
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) Fail("key generation failed");
    KeyPair pair;
    unsigned char point[kPublicKeyBytes];
    size_t point_len = 0;
    // OpenSSL 3 encodes the public key uncompressed unless told otherwise.
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_len) != 1 ||
        point_len != kPublicKeyBytes || point[0] != 0x04) {
        Fail("cannot read the generated public key");
    }
    pair.public_key.assign(reinterpret_cast<char*>(point), point_len);
    BIGNUM* raw_d = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw_d) != 1) Fail("cannot read the private key");
    Bn d(raw_d);
    pair.private_key.assign(kPrivateKeyBytes, '\0');
    if (BN_bn2binpad(d.get(), reinterpret_cast<unsigned char*>(pair.private_key.data()), kPrivateKeyBytes) !=
        static_cast<int>(kPrivateKeyBytes)) {
        Fail("cannot read the private key");
    }
    return pair;
}

bool IsValidPublicKey(std::string_view raw) {
    // Length and prefix first: OpenSSL would also take compressed (33-byte) points, which the Push
    // API never produces and the key id of the aes128gcm header cannot carry.
    if (raw.size() != kPublicKeyBytes || static_cast<unsigned char>(raw[0]) != 0x04) return false;
    Pkey key = LoadKey(raw, std::nullopt);
    return key && PublicKeyChecks(key.get());
}

std::optional<std::string> P256dhProblem(std::string_view p256dh) {
    if (p256dh.size() > 128) return "keys.p256dh is too long";
    auto raw = Base64UrlDecode(p256dh);
    if (!raw) return "keys.p256dh must be base64url";
    if (raw->size() != kPublicKeyBytes) return "keys.p256dh must be a 65-byte uncompressed P-256 point";
    if (!IsValidPublicKey(*raw)) return "keys.p256dh is not a point on P-256";
    return std::nullopt;
}

std::optional<std::string> AuthSecretProblem(std::string_view auth) {
    if (auth.size() > 64) return "keys.auth is too long";
    auto raw = Base64UrlDecode(auth);
    if (!raw) return "keys.auth must be base64url";
    if (raw->size() != kAuthSecretBytes) return "keys.auth must be 16 bytes";
    return std::nullopt;
}

// ---- RFC 8291 / RFC 8188 --------------------------------------------------------------------

std::string Encrypt(std::string_view plaintext, std::string_view ua_public, std::string_view auth_secret,
                    const EncryptOptions& options) {
    if (plaintext.size() > kMaxPlaintextBytes) Fail("payload is larger than a push message can carry");
    if (auth_secret.size() != kAuthSecretBytes) Fail("the subscription's auth secret must be 16 bytes");
    std::string salt = options.salt ? *options.salt : RandomBytes(kSaltBytes);
    if (salt.size() != kSaltBytes) Fail("salt must be 16 bytes");

    Pkey peer = LoadPeerKey(ua_public);
    KeyPair sender = options.sender_key ? *options.sender_key : GenerateKeyPair();
    Pkey own = LoadKeyPair(sender);

    // RFC 8291 §3.4: combine the ECDH secret with the subscription's auth secret...
    Secret ecdh(Ecdh(own.get(), peer.get()));
    Secret prk_key(HmacSha256(auth_secret, ecdh.str()));
    std::string key_info = std::string("WebPush: info", 13) + '\0' + std::string(ua_public) + sender.public_key;
    Secret ikm(HkdfExpand(prk_key.str(), key_info, 32));
    // ...then RFC 8188 §2.2: derive the content key and nonce from the salt.
    Secret prk(HmacSha256(salt, ikm.str()));
    Secret cek(HkdfExpand(prk.str(), std::string("Content-Encoding: aes128gcm", 27) + '\0', 16));
    Secret nonce(HkdfExpand(prk.str(), std::string("Content-Encoding: nonce", 23) + '\0', 12));

    // One record, which is also the last: the plaintext, then the 0x02 delimiter, no padding.
    std::string record(plaintext);
    record += '\x02';
    std::string sealed = Aes128GcmSeal(cek.str(), nonce.str(), record);
    OPENSSL_cleanse(record.data(), record.size());

    std::string body;
    body.reserve(kHeaderBytes + sealed.size());
    body += salt;
    body += static_cast<char>((kRecordSize >> 24) & 0xff);
    body += static_cast<char>((kRecordSize >> 16) & 0xff);
    body += static_cast<char>((kRecordSize >> 8) & 0xff);
    body += static_cast<char>(kRecordSize & 0xff);
    body += static_cast<char>(kPublicKeyBytes);
    body += sender.public_key;
    body += sealed;
    OPENSSL_cleanse(sender.private_key.data(), sender.private_key.size());
    return body;
}

// ---- RFC 8292 -------------------------------------------------------------------------------

// Signed with OpenSSL directly rather than cpp-jwt: cpp-jwt 1.4 loads EC keys through the
// deprecated EC_KEY interface (EVP_PKEY_get1_EC_KEY and friends) and only from PEM, while the
// VAPID key lives as raw bytes; going through EVP here also gives the JWS R || S form explicitly.
std::string VapidToken(std::string_view audience, int64_t expires_at, std::string_view subject, const KeyPair& key) {
    JsonBuffer payload_buf;
    JsonWriter w(payload_buf);
    w.StartObject();
    PutString(w, "aud", audience);
    PutInt(w, "exp", expires_at);
    PutString(w, "sub", subject);
    w.EndObject();
    std::string signing_input = Base64UrlEncode(R"({"typ":"JWT","alg":"ES256"})") + '.' +
                                Base64UrlEncode(std::string_view(payload_buf.GetString(), payload_buf.GetSize()));

    Pkey pkey = LoadKeyPair(key);
    MdCtx md(EVP_MD_CTX_new());
    size_t der_len = 0;
    if (!md || EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, pkey.get(), nullptr) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &der_len, Bytes(signing_input), signing_input.size()) != 1) {
        Fail("ES256 signing failed");
    }
    std::string der(der_len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len, Bytes(signing_input),
                       signing_input.size()) != 1) {
        Fail("ES256 signing failed");
    }
    // OpenSSL signs in DER (SEQUENCE { r, s }); JWS (RFC 7518 §3.4) wants r and s as two 32-byte
    // big-endian integers side by side.
    const unsigned char* p = Bytes(der);
    EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
    if (!sig) Fail("ES256 signature is malformed");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    unsigned char raw[64];
    if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) Fail("ES256 signature is malformed");
    return signing_input + '.' + Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
}

std::string VapidAuthorization(std::string_view token, std::string_view public_key_raw) {
    return "vapid t=" + std::string(token) + ", k=" + Base64UrlEncode(public_key_raw);
}

}  // namespace streambed::webpush
