#include "ws-gateway/ws_codec.h"

namespace streambed::ws {

Reader::Status Reader::Fail(uint16_t code, std::string why) {
    error_code_ = code;
    error_ = std::move(why);
    return Status::kError;
}

void Reader::Shrink() {
    if (consumed_ == buffer_.size()) {
        std::string().swap(buffer_);
        consumed_ = 0;
    }
}

Reader::Status Reader::Next(Message& out) {
    while (true) {
        std::string_view data(buffer_.data() + consumed_, buffer_.size() - consumed_);
        if (data.size() < 2) return Status::kNeedMore;
        auto b0 = static_cast<uint8_t>(data[0]);
        auto b1 = static_cast<uint8_t>(data[1]);
        bool fin = (b0 & 0x80) != 0;
        if ((b0 & 0x70) != 0) return Fail(close_code::kProtocolError, "reserved bits set");
        auto opcode = static_cast<Opcode>(b0 & 0x0F);
        bool masked = (b1 & 0x80) != 0;
        if (!masked) return Fail(close_code::kProtocolError, "client frames must be masked");
        uint64_t length = b1 & 0x7F;
        size_t header = 2;
        if (length == 126) {
            if (data.size() < 4) return Status::kNeedMore;
            length = (uint64_t(uint8_t(data[2])) << 8) | uint8_t(data[3]);
            header = 4;
        } else if (length == 127) {
            if (data.size() < 10) return Status::kNeedMore;
            length = 0;
            for (int i = 0; i < 8; ++i) length = (length << 8) | uint8_t(data[2 + i]);
            header = 10;
            // RFC 6455 §5.2: the most significant bit must be 0.
            if (length >> 63) return Fail(close_code::kProtocolError, "64-bit length with the top bit set");
        }
        bool control = (static_cast<uint8_t>(opcode) & 0x8) != 0;
        if (control && (!fin || length > 125)) return Fail(close_code::kProtocolError, "bad control frame");
        switch (opcode) {
            case Opcode::kContinuation:
            case Opcode::kText:
            case Opcode::kBinary:
            case Opcode::kClose:
            case Opcode::kPing:
            case Opcode::kPong: break;
            default: return Fail(close_code::kProtocolError, "unknown opcode");
        }
        // Refuse before buffering: a huge length must not make us wait for (or hold) its bytes.
        // Compared without a sum: `length + partial_.size()` wrapped past 2^64 for a length near it,
        // which then passed this check and made the substr below throw (found by fuzz/ws_fuzz.cpp;
        // fuzz/corpus/ws/wrapping_length). partial_ never exceeds the limit, so the difference holds.
        if (!control && length > max_message_bytes_ - partial_.size())
            return Fail(close_code::kTooBig, "message is too big");
        if (data.size() < header + 4 + length) return Status::kNeedMore;

        const char* mask = data.data() + header;
        std::string payload(data.substr(header + 4, static_cast<size_t>(length)));
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
        consumed_ += header + 4 + static_cast<size_t>(length);
        if (consumed_ == buffer_.size()) {
            buffer_.clear();
            consumed_ = 0;
        } else if (consumed_ > 65536) {
            buffer_.erase(0, consumed_);
            consumed_ = 0;
        }

        if (control) {
            out.opcode = opcode;
            out.payload = std::move(payload);
            return Status::kMessage;
        }
        if (opcode == Opcode::kContinuation) {
            if (!in_fragmented_) return Fail(close_code::kProtocolError, "continuation without a message");
            partial_ += payload;
        } else {
            if (in_fragmented_) return Fail(close_code::kProtocolError, "new message inside a fragmented one");
            partial_ = std::move(payload);
            partial_opcode_ = opcode;
        }
        in_fragmented_ = !fin;
        if (!fin) continue;
        if (partial_opcode_ == Opcode::kText && !IsValidUtf8(partial_))
            return Fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
        out.opcode = partial_opcode_;
        out.payload = std::move(partial_);
        partial_.clear();
        return Status::kMessage;
    }
}

std::string EncodeFrame(Opcode opcode, std::string_view payload) {
    std::string frame;
    frame.reserve(payload.size() + 10);
    frame += static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
    size_t n = payload.size();
    if (n < 126) {
        frame += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        frame += static_cast<char>(126);
        frame += static_cast<char>((n >> 8) & 0xFF);
        frame += static_cast<char>(n & 0xFF);
    } else {
        frame += static_cast<char>(127);
        for (int i = 7; i >= 0; --i) frame += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xFF);
    }
    frame.append(payload.data(), payload.size());
    return frame;
}

std::string EncodeClose(uint16_t code, std::string_view reason) {
    std::string payload;
    payload += static_cast<char>((code >> 8) & 0xFF);
    payload += static_cast<char>(code & 0xFF);
    payload.append(reason.substr(0, 123));
    return EncodeFrame(Opcode::kClose, payload);
}

}  // namespace streambed::ws
