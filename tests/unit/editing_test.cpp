// The server side of collaborative editing (common/editing.h): which base versions can be caught
// up (409 otherwise), catching an op and its author's cursor up with the history, other
// participants' cursors, and the records kept in Redis. The last case is a seeded random property:
// the server's answer is what an ot.js client holding the same pending op computes on its side.
#define BOOST_TEST_MODULE editing
#include <boost/test/unit_test.hpp>

#include <functional>
#include <random>
#include <sstream>

#include "common/editing.h"
#include "common/errors.h"
#include "common/ot.h"

namespace streambed::ot {
std::ostream& boost_test_print_type(std::ostream& out, const TextOperation& op) { return out << op.ToJsonString(); }
std::ostream& boost_test_print_type(std::ostream& out, const Cursor& c) {
    return out << "{" << c.anchor << ", " << c.head << "}";
}
}  // namespace streambed::ot
namespace std {
std::ostream& boost_test_print_type(std::ostream& out, const std::optional<streambed::ot::Cursor>& c) {
    if (!c) return out << "none";
    return out << "{" << c->anchor << ", " << c->head << "}";
}
}  // namespace std

using namespace streambed;
using namespace streambed::editing;
using ot::Cursor;
using ot::TextOperation;

namespace {

TextOperation Op(std::string_view json) {
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError()) throw std::runtime_error("test JSON does not parse: " + std::string(json));
    return ot::Parse(d);
}

// "status field | message" of the ApiError `f` throws, or "no error".
std::string ErrorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const ApiError& e) {
        return std::to_string(e.http_status()) + " " + e.field() + " | " + e.what();
    }
    return "no error";
}

bool Contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(states_have_three_names) {
    BOOST_TEST(StateName(*ParseState("typing")) == "typing");
    BOOST_TEST(StateName(*ParseState("editing")) == "editing");
    BOOST_TEST(StateName(*ParseState("idle")) == "idle");
    BOOST_TEST(!ParseState("Typing").has_value());
    BOOST_TEST(!ParseState("").has_value());
}

BOOST_AUTO_TEST_CASE(a_base_is_accepted_from_the_oldest_kept_op_to_the_current_version) {
    BOOST_TEST(ErrorOf([] { CheckBase(0, 0, 0); }) == "no error");
    BOOST_TEST(ErrorOf([] { CheckBase(7, 7, 0); }) == "no error");  // current: applies directly
    BOOST_TEST(ErrorOf([] { CheckBase(5, 7, 2); }) == "no error");  // the two kept ops follow it
    BOOST_TEST(ErrorOf([] { CheckBase(0, 200, 200); }) == "no error");
    std::string old = ErrorOf([] { CheckBase(4, 7, 2); });
    BOOST_TEST(old.rfind("409 base_version |", 0) == 0, old);
    BOOST_TEST(Contains(old, "older than the kept history (versions 5 to 7)"), old);
    std::string newer = ErrorOf([] { CheckBase(8, 7, 200); });
    BOOST_TEST(newer.rfind("409 base_version |", 0) == 0, newer);
    BOOST_TEST(Contains(newer, "newer than the document's version 7"), newer);
}

BOOST_AUTO_TEST_CASE(an_op_on_the_current_version_applies_as_it_is) {
    Outcome out = CatchUp("Hello world", {}, Op(R"([6, "big ", 5])"), Cursor{10, 10});
    BOOST_TEST(out.text == "Hello big world");
    BOOST_TEST(*out.op == Op(R"([6, "big ", 5])"));
    BOOST_TEST(*out.cursor == (Cursor{10, 10}));
    Outcome still = CatchUp("Hello", {}, std::nullopt, Cursor{0, 5});
    BOOST_TEST(still.text == "Hello");
    BOOST_TEST(!still.op.has_value());
    BOOST_TEST(*still.cursor == (Cursor{0, 5}));
}

BOOST_AUTO_TEST_CASE(a_tie_puts_the_incoming_text_first_and_the_callers_caret_after_it) {
    // Both typed at position 0 of "": "y" was accepted first. The incoming op goes first into
    // Transform, as ot.js's Server does, so its text comes first; the caret that followed "x" on
    // the caller's screen stays between the two, in front of the text someone else typed.
    Outcome out = CatchUp("y", {Op(R"(["y"])")}, Op(R"(["x"])"), Cursor{1, 1});
    BOOST_TEST(*out.op == Op(R"(["x", 1])"));
    BOOST_TEST(out.text == "xy");
    BOOST_TEST(*out.cursor == (Cursor{1, 1}));
}

BOOST_AUTO_TEST_CASE(an_old_op_is_transformed_past_each_later_op_in_turn) {
    // Base "abc" (version 0). Accepted since: v1 deletes "a", v2 appends "Z", v3 inserts "Q" at 1.
    std::vector<TextOperation> later{Op("[-1, 2]"), Op(R"([2, "Z"])"), Op(R"([1, "Q", 2])")};
    std::string text = "abc";
    for (const auto& h : later) text = h.Apply(text);
    BOOST_TEST(text == "bQcZ");
    // The caller replaced "b" with "B" and has its caret after the "B".
    Outcome out = CatchUp(text, later, Op(R"([1, "B", -1, 1])"), Cursor{2, 2});
    BOOST_TEST(out.text == "BQcZ");
    BOOST_TEST(*out.op == Op(R"(["B", -1, 3])"));
    BOOST_TEST(*out.cursor == (Cursor{1, 1}));
    // The step-by-step answer, computed here by hand with Transform.
    TextOperation op = Op(R"([1, "B", -1, 1])");
    for (const auto& h : later) op = ot::Transform(op, h).first;
    BOOST_TEST(*out.op == op);
}

BOOST_AUTO_TEST_CASE(a_cursor_without_an_op_follows_the_later_ops) {
    std::vector<TextOperation> later{Op(R"(["12", 3])"), Op("[2, -1, 2]")};  // "abc" -> "12abc" -> "12bc"
    Outcome out = CatchUp("12bc", later, std::nullopt, Cursor{1, 3});
    BOOST_TEST(out.text == "12bc");
    BOOST_TEST(*out.cursor == (Cursor{2, 4}));
}

BOOST_AUTO_TEST_CASE(what_does_not_fit_is_refused_with_the_field) {
    std::vector<TextOperation> later{Op(R"([3, "d"])")};  // "abc" -> "abcd"
    std::string short_op = ErrorOf([&] { CatchUp("abcd", later, Op("[4]"), std::nullopt); });
    BOOST_TEST(short_op == "400 ops | ops: the operation covers 4 UTF-16 units but the document had 3 at base_version");
    std::string outside = ErrorOf([&] { CatchUp("abcd", later, Op("[3]"), Cursor{0, 4}); });
    BOOST_TEST(outside.rfind("400 cursor |", 0) == 0, outside);
    std::string current = ErrorOf([] { CatchUp("abc", {}, Op(R"([3, "d"])"), Cursor{5, 5}); });
    BOOST_TEST(Contains(current, "400 cursor | cursor: anchor 5 is outside the document (length 4"), current);
    std::string pair = ErrorOf([] { CatchUp("a😀b", {}, std::nullopt, Cursor{2, 2}); });
    BOOST_TEST(Contains(pair, "400 cursor | cursor: anchor 2 falls inside a surrogate pair"), pair);
}

BOOST_AUTO_TEST_CASE(stored_cursors_stay_in_front_of_text_others_typed_at_them) {
    TextOperation typed = Op(R"([2, "XY", 1])");  // "abc" -> "abXYc"
    BOOST_TEST(*MoveCursor(Cursor{2, 2}, typed) == (Cursor{2, 2}));
    BOOST_TEST(*MoveCursor(Cursor{3, 0}, typed) == (Cursor{5, 0}));
    BOOST_TEST(*MoveCursor(Cursor{1, 3}, Op("[1, -2]")) == (Cursor{1, 1}));
    BOOST_TEST(!MoveCursor(Cursor{0, 9}, typed).has_value());
    // The caller's own stored caret, when it typed without sending a new one, moves past its text.
    BOOST_TEST(*MoveCursor(Cursor{2, 2}, typed, true) == (Cursor{4, 4}));
}

BOOST_AUTO_TEST_CASE(participant_records_round_trip) {
    Participant p{"alice", R"({"id":"alice","name":"Alice \"A\""})", State::kTyping, Cursor{3, 7}, 1700000000123456};
    auto back = ParseParticipant(ToJson(p));
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->user_id == "alice");
    BOOST_TEST(back->user_json == p.user_json);
    BOOST_TEST(StateName(back->state) == "typing");
    BOOST_TEST(*back->cursor == (Cursor{3, 7}));
    BOOST_TEST(back->updated_at == p.updated_at);
    Participant none{"bob", R"({"id":"bob"})", State::kIdle, std::nullopt, 5};
    BOOST_TEST(!ParseParticipant(ToJson(none))->cursor.has_value());
    BOOST_TEST(!ParseParticipant("not json").has_value());
    BOOST_TEST(!ParseParticipant(R"({"id":"x","user":{},"state":"dancing","updated_at":1})").has_value());
    BOOST_TEST(!ParseParticipant(R"({"id":"x","state":"idle","updated_at":1})").has_value());
}

BOOST_AUTO_TEST_CASE(idle_members_round_trip_whatever_the_message_id_holds) {
    for (std::string id : {"", "m1", "a:b:c", "quote\"and\\slash", "ünï😀", "[\"x\"]"}) {
        std::string member = IdleMember("messaging:general", id, "u.1@x");
        BOOST_TEST(member == IdleMember("messaging:general", id, "u.1@x"));  // the same ZSET entry
        auto e = ParseIdleMember(member);
        BOOST_TEST_REQUIRE(e.has_value());
        BOOST_TEST(e->cid == "messaging:general");
        BOOST_TEST(e->message_id == id);
        BOOST_TEST(e->user_id == "u.1@x");
    }
    BOOST_TEST(!ParseIdleMember(R"(["a","b"])").has_value());
    BOOST_TEST(!ParseIdleMember("{}").has_value());
}

// --- The server agrees with the client ---------------------------------------------------------
// Seeded (std::mt19937_64, fully specified): random documents with accents, combining marks and
// surrogate pairs, a random history of 0 to 5 ops accepted since the caller's base, a random op
// and a random caret or selection on the caller's own text. The caller is an ot.js client holding
// that op unacknowledged: for each later op h it receives, it computes (op', h') = transform(op, h),
// applies h' to its text and moves its cursor through h' as text someone else typed. The property:
// the server's CatchUp gives exactly the client's text, the op the client ends up holding (what the
// server applied), and the client's cursor; and every third party, applying the history and then
// the applied op, reaches the same text.

namespace {

using Chars = std::vector<std::string>;
const std::vector<std::string> kAlphabet = {"a", "b", " ", "é", "\u0301", "中", "😀", "🇫", "X", "🎉", "\n"};

class Gen {
public:
    explicit Gen(uint64_t seed) : rng_(seed) {}
    int64_t Below(int64_t n) { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)); }
    std::string Text(int64_t max_chars) {
        std::string text;
        for (int64_t i = 1 + Below(max_chars); i > 0; --i) text += kAlphabet[Below(kAlphabet.size())];
        return text;
    }
    // A random operation on `doc`, cut at character boundaries.
    TextOperation Operation(const Chars& doc) {
        TextOperation op;
        size_t i = 0;
        while (true) {
            int64_t choice = Below(10);
            if (i == doc.size()) {
                if (choice < 3) op.Insert(Text(4));
                return op;
            }
            size_t run = std::min<size_t>(doc.size() - i, 1 + Below(4));
            int64_t units = 0;
            for (size_t k = i; k < i + run; ++k) units += *ot::Utf16Length(doc[k]);
            if (choice < 5) {
                op.Retain(units);
            } else if (choice < 8) {
                op.Delete(units);
            } else {
                op.Insert(Text(4));
                continue;
            }
            i += run;
        }
    }
    int64_t Position(const Chars& doc) {
        size_t chars = Below(doc.size() + 1);
        int64_t units = 0;
        for (size_t k = 0; k < chars; ++k) units += *ot::Utf16Length(doc[k]);
        return units;
    }

private:
    std::mt19937_64 rng_;
};

Chars Split(std::string_view text) {
    Chars chars;
    for (size_t i = 0; i < text.size();) {
        auto lead = static_cast<uint8_t>(text[i]);
        size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        chars.emplace_back(text.substr(i, n));
        i += n;
    }
    return chars;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_server_computes_what_an_ot_js_client_computes) {
    Gen gen(20260107);
    for (int iteration = 0; iteration < 3000; ++iteration) {
        std::string base;
        for (int64_t n = gen.Below(12); n > 0; --n) base += gen.Text(1);
        std::vector<TextOperation> later;
        std::string text = base;
        for (int64_t n = gen.Below(6); n > 0; --n) {
            later.push_back(gen.Operation(Split(text)));
            text = later.back().Apply(text);
        }
        TextOperation op = gen.Operation(Split(base));
        std::string client = op.Apply(base);
        Chars client_chars = Split(client);
        Cursor cursor{gen.Position(client_chars), gen.Position(client_chars)};

        std::ostringstream where;
        where << "iteration " << iteration << ": base \"" << base << "\" op " << op.ToJsonString() << " cursor {"
              << cursor.anchor << ", " << cursor.head << "} later";
        for (const auto& h : later) where << " " << h.ToJsonString();

        Outcome out = CatchUp(text, later, op, cursor);
        TextOperation pending = op;
        Cursor client_cursor = cursor;
        for (const auto& h : later) {
            auto [pending_prime, h_prime] = ot::Transform(pending, h);
            client = h_prime.Apply(client);
            client_cursor = ot::TransformCursor(client_cursor, h_prime, false);
            pending = pending_prime;
        }
        BOOST_TEST_REQUIRE(out.text == client, where.str());
        BOOST_TEST_REQUIRE(*out.op == pending, where.str());
        BOOST_TEST_REQUIRE(*out.cursor == client_cursor, where.str());
        BOOST_TEST_REQUIRE(out.op->Apply(text) == out.text, where.str());
    }
}
