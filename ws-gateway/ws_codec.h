#pragma once
// The WebSocket wire format (RFC 6455 §5), without I/O: the gateway's event loop feeds bytes in
// and takes whole messages out, so a slow or partial frame never blocks the loop.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"  // text frames must be UTF-8 (RFC 6455 §8.1)

namespace streambed::ws {

enum class Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

// Close codes used by the gateway (RFC 6455 §7.4.1). Anything but 1000 makes the SDK reconnect.
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kInvalidPayload = 1007;
constexpr uint16_t kPolicyViolation = 1008;
constexpr uint16_t kTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
constexpr uint16_t kServiceRestart = 1012;
constexpr uint16_t kTryAgainLater = 1013;
}  // namespace close_code

struct Message {
    Opcode opcode = Opcode::kText;  // kText, kBinary, kClose, kPing or kPong; never kContinuation
    std::string payload;            // unmasked; fragments already joined
};

// Reassembles client-to-server messages. Client frames must be masked (§5.1); control frames
// must be final and at most 125 bytes (§5.5); a message may not exceed `max_message_bytes`.
class Reader {
public:
    enum class Status { kMessage, kNeedMore, kError };

    explicit Reader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

    void Feed(std::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
    // Takes the next complete message out of the buffered bytes. On kError, `error_code` is the
    // close code to send and `error` says why; the connection must then be closed.
    Status Next(Message& out);

    uint16_t error_code() const { return error_code_; }
    const std::string& error() const { return error_; }
    size_t buffered() const { return buffer_.size() - consumed_; }
    // Frees the buffer's memory when nothing is pending (idle sockets stay small).
    void Shrink();

private:
    Status Fail(uint16_t code, std::string why);

    size_t max_message_bytes_;
    std::string buffer_;
    size_t consumed_ = 0;
    std::string partial_;  // fragments of a data message not yet final
    Opcode partial_opcode_ = Opcode::kText;
    bool in_fragmented_ = false;
    uint16_t error_code_ = 0;
    std::string error_;
};

// A server-to-client frame (never masked), FIN set.
std::string EncodeFrame(Opcode opcode, std::string_view payload);
std::string EncodeClose(uint16_t code, std::string_view reason);

}  // namespace streambed::ws
