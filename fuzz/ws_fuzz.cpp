// WebSocket frames from clients: ws::Reader fed the input in pieces whose sizes the input picks.
// It must hand out whole messages within the size limit, text that is valid UTF-8, control frames
// of at most 125 bytes, or a close code; never read out of bounds.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz.h"
#include "ws-gateway/ws_codec.h"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    constexpr size_t kMax = 4096;
    ws::Reader reader(kMax);
    size_t step = (data[0] % 64) + 1;
    std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    bool failed = false;
    for (size_t at = 0; at < bytes.size() && !failed; at += step) {
        reader.Feed(bytes.substr(at, step));
        for (;;) {
            ws::Message m;
            auto status = reader.Next(m);
            if (status == ws::Reader::Status::kNeedMore) break;
            if (status == ws::Reader::Status::kError) {
                FUZZ_CHECK(reader.error_code() >= 1000 && reader.error_code() < 5000);
                failed = true;
                break;
            }
            FUZZ_CHECK(m.opcode != ws::Opcode::kContinuation);
            FUZZ_CHECK(m.payload.size() <= kMax);
            if (m.opcode == ws::Opcode::kText) FUZZ_CHECK(IsValidUtf8(m.payload));
            if (m.opcode == ws::Opcode::kPing || m.opcode == ws::Opcode::kPong || m.opcode == ws::Opcode::kClose)
                FUZZ_CHECK(m.payload.size() <= 125);
        }
        reader.Shrink();
    }
    // Our own frames are well-formed: header + payload.
    std::string_view payload = bytes.substr(0, 300);
    std::string frame = ws::EncodeFrame(ws::Opcode::kBinary, payload);
    FUZZ_CHECK(frame.size() >= payload.size() + 2 && frame.compare(frame.size() - payload.size(), payload.size(), payload) == 0);
    return 0;
}
