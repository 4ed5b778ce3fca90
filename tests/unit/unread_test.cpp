// Unread counts from a channel's window of newest messages (fcgi-app/unread.h): what counts, where
// counting stops, and when the window cannot tell and the store must count in SQL. The last case
// compares against counting every message one by one, over seeded random channels.
#define BOOST_TEST_MODULE unread
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include "fcgi-app/unread.h"

namespace su = streambed::unread;

namespace {
su::Window WindowOf(std::vector<su::Candidate> oldest_first, bool complete = true) {
    std::reverse(oldest_first.begin(), oldest_first.end());
    return {std::move(oldest_first), complete};
}
}  // namespace

BOOST_AUTO_TEST_CASE(counts_others_messages_after_the_last_read) {
    auto w = WindowOf({{10, "ann"}, {20, "bob"}, {30, "ann"}, {40, "cat"}});
    BOOST_TEST(*su::Count(w, 0, "ann", {}) == 2);    // bob's and cat's
    BOOST_TEST(*su::Count(w, 20, "ann", {}) == 1);   // exclusive: the message at 20 was read
    BOOST_TEST(*su::Count(w, 40, "bob", {}) == 0);
    BOOST_TEST(*su::Count(w, 5, "dan", {}) == 4);
}

BOOST_AUTO_TEST_CASE(muted_users_do_not_count) {
    auto w = WindowOf({{10, "ann"}, {20, "bob"}, {30, "cat"}});
    BOOST_TEST(*su::Count(w, 0, "dan", {"bob", "cat"}) == 1);
}

BOOST_AUTO_TEST_CASE(an_empty_window_means_nothing_unread) {
    BOOST_TEST(*su::Count(su::Window{}, 0, "ann", {}) == 0);
}

BOOST_AUTO_TEST_CASE(counting_stops_at_the_cap) {
    std::vector<su::Candidate> many;
    for (int i = 1; i <= su::kWindowSize; ++i) many.push_back({i, "bob"});
    auto w = WindowOf(many, false);
    BOOST_TEST(*su::Count(w, 0, "ann", {}) == su::kMaxCount);
}

BOOST_AUTO_TEST_CASE(an_incomplete_window_that_ends_before_the_last_read_cannot_tell) {
    // A full window mostly of ann's own messages: more of bob's may lie before it.
    std::vector<su::Candidate> own;
    for (int i = 1; i <= su::kWindowSize; ++i) own.push_back({100 + i, i % 2 ? "ann" : "bob"});
    auto w = WindowOf(own, false);
    BOOST_TEST(!su::Count(w, 0, "ann", {}).has_value());
    BOOST_TEST(*su::Count(w, 100 + su::kWindowSize - 10, "ann", {}) == 5);  // ends inside: known
    BOOST_TEST(*su::Count(w, 0, "cat", {}) == su::kMaxCount);               // reached the cap: known
}

BOOST_AUTO_TEST_CASE(agrees_with_counting_every_message) {
    std::mt19937 rng(20261127);
    const std::vector<std::string> users{"ann", "bob", "cat", "dan"};
    for (int round = 0; round < 200; ++round) {
        int total = std::uniform_int_distribution<int>(0, 2 * su::kWindowSize)(rng);
        std::vector<su::Candidate> all;  // oldest first, distinct times
        for (int i = 0; i < total; ++i) all.push_back({10 * (i + 1), users[rng() % users.size()]});
        int64_t read_until = std::uniform_int_distribution<int64_t>(0, 10 * (total + 1))(rng);
        const std::string& me = users[rng() % users.size()];
        std::vector<std::string> muted;
        if (rng() % 3 == 0) muted.push_back(users[rng() % users.size()]);

        int expected = 0;
        for (const auto& c : all)
            if (c.created_at > read_until && c.user_id != me &&
                std::find(muted.begin(), muted.end(), c.user_id) == muted.end())
                ++expected;
        expected = std::min(expected, su::kMaxCount);

        // What the store reads: the newest kWindowSize, complete when that is all of them.
        std::vector<su::Candidate> newest(all.end() - std::min<int>(total, su::kWindowSize), all.end());
        auto got = su::Count(WindowOf(newest, total < su::kWindowSize), read_until, me, muted);
        if (got) BOOST_TEST(*got == expected);
        // Undecided only when the window ends after the last read and holds fewer than the cap.
        if (!got) BOOST_TEST((total >= su::kWindowSize && newest.front().created_at > read_until));
    }
}
