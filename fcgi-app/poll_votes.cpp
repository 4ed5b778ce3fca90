#include "fcgi-app/poll_votes.h"

namespace streambed::polls {

namespace {
VotePlan Refuse(std::string refusal, std::string field) {
    VotePlan plan;
    plan.refusal = std::move(refusal);
    plan.field = std::move(field);
    return plan;
}

VotePlan Plan(VotePlan::Kind kind, const VoteRow* vote = nullptr) {
    VotePlan plan;
    plan.kind = kind;
    plan.vote = vote;
    return plan;
}
}  // namespace

VotePlan PlanVote(const PollRow& poll, const std::vector<VoteRow>& own, const std::optional<std::string>& option_id,
                  bool answering) {
    const Settings& s = poll.settings;
    if (s.is_closed) return Refuse("the poll is closed", "poll_id");
    if (answering) {
        if (!s.allow_answers) return Refuse("this poll does not take answers", "vote.answer_text");
        // One answer per voter: a second one replaces the first's words.
        for (const auto& v : own)
            if (v.is_answer()) return Plan(VotePlan::Kind::kMove, &v);
        return Plan(VotePlan::Kind::kAdd);
    }
    bool known = false;
    for (const auto& o : poll.options) known = known || o.id == option_id;
    if (!option_id || !known)
        return Refuse("poll option " + option_id.value_or("") + " does not exist", "vote.option_id");
    const VoteRow* first = nullptr;  // the voter's oldest vote for an option: what a unique vote moves
    int64_t votes = 0;
    for (const auto& v : own) {
        if (v.is_answer()) continue;
        if (v.option_id == option_id) return Plan(VotePlan::Kind::kKeep, &v);
        if (first == nullptr) first = &v;
        ++votes;
    }
    if (s.enforce_unique_vote && first != nullptr) return Plan(VotePlan::Kind::kMove, first);
    // Without a limit a voter may choose every option once.
    int64_t limit = s.enforce_unique_vote ? 1 : s.max_votes_allowed.value_or(static_cast<int64_t>(poll.options.size()));
    if (votes >= limit)
        return Refuse("you have cast the most votes this poll allows (" + std::to_string(limit) + "): remove one first",
                      "vote.option_id");
    return Plan(VotePlan::Kind::kAdd);
}

}  // namespace streambed::polls
