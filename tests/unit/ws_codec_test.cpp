// RFC 6455 framing as the gateway reads it: partial frames, fragmentation, masking, limits.
#define BOOST_TEST_MODULE ws_codec
#include <boost/test/unit_test.hpp>

#include "ws-gateway/ws_codec.h"

using namespace streambed::ws;

namespace {
// A client frame: always masked.
std::string ClientFrame(Opcode op, const std::string& payload, bool fin = true, bool mask = true) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | static_cast<int>(op));
    size_t n = payload.size();
    char m = mask ? 0x80 : 0;
    if (n < 126) {
        f += static_cast<char>(m | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(m | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(m | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) f.append(key, 4);
    for (size_t i = 0; i < n; ++i) f += mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
    return f;
}
}  // namespace

BOOST_AUTO_TEST_CASE(reads_a_text_message_byte_by_byte) {
    Reader r(1024);
    std::string frame = ClientFrame(Opcode::kText, R"([{"type":"health.check"}])");
    Message m;
    for (size_t i = 0; i + 1 < frame.size(); ++i) {
        r.Feed(frame.substr(i, 1));
        BOOST_TEST((r.Next(m) == Reader::Status::kNeedMore));
    }
    r.Feed(frame.substr(frame.size() - 1));
    BOOST_TEST((r.Next(m) == Reader::Status::kMessage));
    BOOST_TEST(m.payload == R"([{"type":"health.check"}])");
    BOOST_TEST((m.opcode == Opcode::kText));
}

BOOST_AUTO_TEST_CASE(reads_16_and_64_bit_lengths) {
    for (size_t n : {125u, 126u, 65535u, 65536u, 70000u}) {
        Reader r(100000);
        r.Feed(ClientFrame(Opcode::kBinary, std::string(n, 'a')));
        Message m;
        BOOST_TEST((r.Next(m) == Reader::Status::kMessage));
        BOOST_TEST(m.payload.size() == n);
    }
}

BOOST_AUTO_TEST_CASE(joins_fragments_with_control_frames_between) {
    Reader r(1024);
    r.Feed(ClientFrame(Opcode::kText, "hel", false));
    r.Feed(ClientFrame(Opcode::kPing, "p"));
    r.Feed(ClientFrame(Opcode::kContinuation, "lo", true));
    Message m;
    BOOST_TEST((r.Next(m) == Reader::Status::kMessage));
    BOOST_TEST((m.opcode == Opcode::kPing));
    BOOST_TEST((r.Next(m) == Reader::Status::kMessage));
    BOOST_TEST(m.payload == "hello");
    BOOST_TEST((r.Next(m) == Reader::Status::kNeedMore));
}

BOOST_AUTO_TEST_CASE(refuses_unmasked_frames) {
    Reader r(1024);
    r.Feed(ClientFrame(Opcode::kText, "x", true, false));
    Message m;
    BOOST_TEST((r.Next(m) == Reader::Status::kError));
    BOOST_TEST(r.error_code() == close_code::kProtocolError);
}

BOOST_AUTO_TEST_CASE(refuses_oversized_messages_before_their_bytes_arrive) {
    Reader r(1000);
    std::string frame = ClientFrame(Opcode::kText, std::string(5000, 'x'));
    r.Feed(frame.substr(0, 8));  // the header alone
    Message m;
    BOOST_TEST((r.Next(m) == Reader::Status::kError));
    BOOST_TEST(r.error_code() == close_code::kTooBig);
    // Fragments count together.
    Reader f(1000);
    f.Feed(ClientFrame(Opcode::kText, std::string(600, 'x'), false));
    f.Feed(ClientFrame(Opcode::kContinuation, std::string(600, 'x'), true));
    BOOST_TEST((f.Next(m) == Reader::Status::kError));
}

// A 64-bit length near 2^64 after a first fragment: length + the fragment's size wrapped to a
// small number, passed the size check, and reading the payload threw std::out_of_range
// (fuzz/ws_fuzz.cpp, fuzz/corpus/ws/wrapping_length). Now: too big, or a protocol error when the
// length's top bit is set (RFC 6455 §5.2).
BOOST_AUTO_TEST_CASE(huge_64_bit_lengths_do_not_wrap_the_size_check) {
    for (uint64_t length : {~uint64_t{0} - 2, uint64_t{0x7FFFFFFFFFFFFFFF}}) {
        Reader r(1000);
        r.Feed(ClientFrame(Opcode::kText, "abc", false));
        std::string frame;
        frame += static_cast<char>(0x80 | static_cast<int>(Opcode::kContinuation));
        frame += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) frame += static_cast<char>((length >> (8 * i)) & 0xFF);
        frame += std::string("\x12\x34\x56\x78xyz", 7);
        r.Feed(frame);
        Message m;
        BOOST_TEST((r.Next(m) == Reader::Status::kError));
        BOOST_TEST(r.error_code() == (length >> 63 ? close_code::kProtocolError : close_code::kTooBig));
    }
}

BOOST_AUTO_TEST_CASE(refuses_bad_control_frames_and_opcodes) {
    Message m;
    Reader a(1024);
    a.Feed(ClientFrame(Opcode::kPing, std::string(126, 'p')));
    BOOST_TEST((a.Next(m) == Reader::Status::kError));
    Reader b(1024);
    b.Feed(ClientFrame(Opcode::kPing, "p", false));
    BOOST_TEST((b.Next(m) == Reader::Status::kError));
    Reader c(1024);
    c.Feed(ClientFrame(static_cast<Opcode>(0x3), "x"));
    BOOST_TEST((c.Next(m) == Reader::Status::kError));
    Reader d(1024);
    d.Feed(ClientFrame(Opcode::kContinuation, "x"));
    BOOST_TEST((d.Next(m) == Reader::Status::kError));
    Reader e(1024);
    std::string rsv = ClientFrame(Opcode::kText, "x");
    rsv[0] = static_cast<char>(rsv[0] | 0x40);
    e.Feed(rsv);
    BOOST_TEST((e.Next(m) == Reader::Status::kError));
}

BOOST_AUTO_TEST_CASE(text_must_be_utf8) {
    Reader r(1024);
    r.Feed(ClientFrame(Opcode::kText, "\xc3\x28"));
    Message m;
    BOOST_TEST((r.Next(m) == Reader::Status::kError));
    BOOST_TEST(r.error_code() == close_code::kInvalidPayload);
    BOOST_TEST(streambed::IsValidUtf8("héllo 😀 ✓"));
    BOOST_TEST(!streambed::IsValidUtf8("\xed\xa0\x80"));   // surrogate
    BOOST_TEST(!streambed::IsValidUtf8("\xc0\xaf"));       // overlong
    BOOST_TEST(!streambed::IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    BOOST_TEST(!streambed::IsValidUtf8("\xe2\x82"));       // truncated
}

BOOST_AUTO_TEST_CASE(encodes_server_frames) {
    std::string f = EncodeFrame(Opcode::kText, "hi");
    BOOST_TEST(f == std::string("\x81\x02hi", 4));
    BOOST_TEST(EncodeFrame(Opcode::kText, std::string(200, 'a')).substr(0, 4) == std::string("\x81\x7e\x00\xc8", 4));
    BOOST_TEST(EncodeFrame(Opcode::kText, std::string(70000, 'a')).size() == 70010u);
    BOOST_TEST(EncodeClose(1000, "") == std::string("\x88\x02\x03\xe8", 4));
}
