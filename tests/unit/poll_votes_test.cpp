// What casting a vote does (fcgi-app/poll_votes.h): the same choice stands, a unique vote moves, a
// limit holds, an answer is replaced, and a closed poll, an unknown option or an answer where the
// poll takes none are refused.
#define BOOST_TEST_MODULE poll_votes
#include <boost/test/unit_test.hpp>

#include "fcgi-app/poll_votes.h"

namespace sp = streambed::polls;
using Kind = sp::VotePlan::Kind;

namespace {
sp::PollRow Poll(sp::Settings settings = {}) {
    sp::PollRow p;
    p.id = "poll";
    p.settings = std::move(settings);
    for (const char* id : {"a", "b", "c"}) {
        sp::OptionRow o;
        o.id = id;
        o.text = id;
        p.options.push_back(o);
    }
    return p;
}

sp::VoteRow Vote(std::string id, std::optional<std::string> option, std::optional<std::string> answer = {}) {
    sp::VoteRow v;
    v.id = std::move(id);
    v.option_id = std::move(option);
    v.answer_text = std::move(answer);
    v.user_id = "ann";
    return v;
}

sp::Settings Unique() {
    sp::Settings s;
    s.enforce_unique_vote = true;
    return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_first_vote_is_added) {
    auto plan = sp::PlanVote(Poll(Unique()), {}, "a", false);
    BOOST_TEST(static_cast<int>(plan.kind) == static_cast<int>(Kind::kAdd));
}

BOOST_AUTO_TEST_CASE(the_same_choice_again_keeps_the_vote) {
    std::vector<sp::VoteRow> own = {Vote("v1", "a")};
    auto plan = sp::PlanVote(Poll(), own, "a", false);
    BOOST_TEST(static_cast<int>(plan.kind) == static_cast<int>(Kind::kKeep));
    BOOST_TEST(plan.vote == &own[0]);
}

BOOST_AUTO_TEST_CASE(a_unique_vote_moves_and_an_answer_does_not_count) {
    std::vector<sp::VoteRow> own = {Vote("ans", std::nullopt, "words"), Vote("v1", "a")};
    auto plan = sp::PlanVote(Poll(Unique()), own, "b", false);
    BOOST_TEST(static_cast<int>(plan.kind) == static_cast<int>(Kind::kMove));
    BOOST_TEST(plan.vote == &own[1]);
}

BOOST_AUTO_TEST_CASE(max_votes_allowed_holds) {
    sp::Settings s;
    s.max_votes_allowed = 2;
    std::vector<sp::VoteRow> one = {Vote("v1", "a")};
    BOOST_TEST(static_cast<int>(sp::PlanVote(Poll(s), one, "b", false).kind) == static_cast<int>(Kind::kAdd));
    std::vector<sp::VoteRow> two = {Vote("v1", "a"), Vote("v2", "b")};
    auto plan = sp::PlanVote(Poll(s), two, "c", false);
    BOOST_TEST(static_cast<int>(plan.kind) == static_cast<int>(Kind::kRefuse));
    BOOST_TEST(plan.field == "vote.option_id");
    BOOST_TEST(plan.refusal.find("(2)") != std::string::npos);
    // Choosing one already chosen is no new vote, at the limit too.
    BOOST_TEST(static_cast<int>(sp::PlanVote(Poll(s), two, "b", false).kind) == static_cast<int>(Kind::kKeep));
}

BOOST_AUTO_TEST_CASE(without_a_limit_every_option_once) {
    std::vector<sp::VoteRow> own = {Vote("v1", "a"), Vote("v2", "b")};
    BOOST_TEST(static_cast<int>(sp::PlanVote(Poll(), own, "c", false).kind) == static_cast<int>(Kind::kAdd));
}

BOOST_AUTO_TEST_CASE(an_answer_is_added_then_replaced) {
    sp::Settings s;
    s.allow_answers = true;
    BOOST_TEST(static_cast<int>(sp::PlanVote(Poll(s), {}, std::nullopt, true).kind) == static_cast<int>(Kind::kAdd));
    std::vector<sp::VoteRow> own = {Vote("v1", "a"), Vote("ans", std::nullopt, "first words")};
    auto plan = sp::PlanVote(Poll(s), own, std::nullopt, true);
    BOOST_TEST(static_cast<int>(plan.kind) == static_cast<int>(Kind::kMove));
    BOOST_TEST(plan.vote == &own[1]);
}

BOOST_AUTO_TEST_CASE(refusals_name_their_field) {
    sp::Settings closed;
    closed.is_closed = true;
    closed.allow_answers = true;
    BOOST_TEST(sp::PlanVote(Poll(closed), {}, "a", false).field == "poll_id");
    BOOST_TEST(sp::PlanVote(Poll(closed), {}, std::nullopt, true).field == "poll_id");
    auto unknown = sp::PlanVote(Poll(), {}, "z", false);
    BOOST_TEST(static_cast<int>(unknown.kind) == static_cast<int>(Kind::kRefuse));
    BOOST_TEST(unknown.field == "vote.option_id");
    auto no_answers = sp::PlanVote(Poll(), {}, std::nullopt, true);
    BOOST_TEST(static_cast<int>(no_answers.kind) == static_cast<int>(Kind::kRefuse));
    BOOST_TEST(no_answers.field == "vote.answer_text");
}
