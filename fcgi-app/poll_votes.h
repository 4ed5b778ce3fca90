#pragma once
// What casting a vote does to a poll's votes, as a pure decision (handlers/polls.cpp carries it out
// under the poll's row lock, so the votes it decides on are the ones in the store).

#include <optional>
#include <string>
#include <vector>

#include "fcgi-app/store/polls.h"

namespace streambed::polls {

struct VotePlan {
    enum class Kind {
        kKeep,    // the voter chose this option already: `vote` stands, nothing changes
        kMove,    // `vote` moves to the option (a unique-vote poll), or the answer gets new words
        kAdd,     // a new vote or answer
        kRefuse,  // 400: `refusal`, about request field `field`
    };
    Kind kind = Kind::kRefuse;
    const VoteRow* vote = nullptr;  // kKeep and kMove: one of `own`
    std::string refusal;
    std::string field;
};

// A vote for `option_id`, or an answer in words (`answering`), by a voter whose votes in `poll`
// are `own`. An option the poll lacks, a closed poll, an answer where the poll takes none and a
// vote beyond max_votes_allowed are refused.
VotePlan PlanVote(const PollRow& poll, const std::vector<VoteRow>& own, const std::optional<std::string>& option_id,
                  bool answering);

}  // namespace streambed::polls
