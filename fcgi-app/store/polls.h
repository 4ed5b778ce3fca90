#pragma once
// Polls (sql/150_polls.sql): a poll, its options and its votes, and the tallies a poll is read
// with. Handlers check who may do what (handlers/polls.cpp); this keeps the rules a store can
// hold (one vote per option and user, one answer per user, an open poll) race-free.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/store/pg.h"

namespace streambed::polls {

// Votes of each option, and answers, read with a poll: the newest ten, as getstream.io returns.
constexpr int kLatestVotes = 10;

struct OptionRow {
    std::string id;
    std::string text;
    int position = 0;
    std::string custom_json = "{}";
    int64_t created_at = 0;
    int64_t updated_at = 0;
    int64_t vote_count = 0;
};

struct VoteRow {
    std::string id;
    std::string poll_id;
    std::optional<std::string> option_id;    // a vote for an option ...
    std::optional<std::string> answer_text;  // ... or an answer in words
    std::string user_id;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    bool is_answer() const { return answer_text.has_value(); }
};

// What a poll's creator decides: create, update and partial update write these.
struct Settings {
    std::string name;
    std::string description;
    std::string voting_visibility = "public";
    bool enforce_unique_vote = false;
    std::optional<int64_t> max_votes_allowed;
    bool allow_user_suggested_options = false;
    bool allow_answers = false;
    bool is_closed = false;
    std::string custom_json = "{}";
};

struct NewOption {
    std::string id;
    std::string text;
    std::string custom_json = "{}";
};

struct PollRow {
    int64_t pk = 0;
    std::string id;
    std::string created_by;
    Settings settings;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::optional<std::string> message_id;  // the message it was sent in, once sent
    std::vector<OptionRow> options;         // by position
    int64_t vote_count = 0;                 // votes for options
    int64_t answers_count = 0;
    std::vector<VoteRow> latest_votes;    // up to kLatestVotes per option, newest first
    std::vector<VoteRow> latest_answers;  // up to kLatestVotes, newest first
    bool anonymous() const { return settings.voting_visibility == "anonymous"; }
};

// Polls by id, each with its options, tallies and latest votes; `caller`'s own votes go to `own`
// (empty caller: none). Three reads, added to `batch`.
void Load(PgBatch& batch, const std::vector<std::string>& poll_ids, std::string_view caller, std::vector<PollRow>& into,
          std::vector<VoteRow>& own);
// One poll, read the same way; nullopt when there is none.
std::optional<PollRow> Find(Pg& db, std::string_view poll_id, std::string_view caller, std::vector<VoteRow>* own);

// nullopt when a poll with this id exists already.
std::optional<int64_t> Create(Pg& db, std::string_view id, std::string_view created_by, const Settings& settings,
                              const std::vector<NewOption>& options);
// The poll's settings replaced; with `options`, its options become these (kept by id, the others
// removed with their votes). False when there is no such poll.
bool Update(Pg& db, int64_t pk, const Settings& settings, const std::vector<NewOption>* options);
bool Delete(Pg& db, int64_t pk);

// Takes the poll's row lock until the transaction ends: votes and option changes of one poll
// happen one after another, so a tally and the rule it enforces see the same votes. nullopt when
// there is no such poll; its pk otherwise.
std::optional<int64_t> Lock(Pg& db, std::string_view poll_id);

// An option added at the end; false when the poll has one with this text.
bool AddOption(Pg& db, int64_t pk, const NewOption& option);
// False: no such option. Throws PgError (unique violation) for a text another option has.
bool UpdateOption(Pg& db, int64_t pk, const NewOption& option);
bool DeleteOption(Pg& db, int64_t pk, std::string_view option_id);

// The user's votes in the poll (options and answer), oldest first.
std::vector<VoteRow> UserVotes(Pg& db, int64_t pk, std::string_view user_id);
// Throws PgError (unique violation) for a second vote on one option, or a second answer.
VoteRow InsertVote(Pg& db, int64_t pk, std::string_view vote_id, std::string_view user_id,
                   const std::optional<std::string>& option_id, const std::optional<std::string>& answer_text);
// A vote moved to another option, or an answer given new words.
VoteRow ChangeVote(Pg& db, std::string_view vote_id, const std::optional<std::string>& option_id,
                   const std::optional<std::string>& answer_text);
std::optional<VoteRow> DeleteVote(Pg& db, int64_t pk, std::string_view vote_id);

// Polls `where` selects over polls `p` (its values bound in `params`), in `order`: their ids.
std::vector<std::string> QueryIds(Pg& db, const std::string& where, const std::string& order, PgParams params,
                                  int limit, int offset);
// Votes of a poll (bound to $1 of `params` as its pk) that `where` selects over poll_votes `v`.
std::vector<VoteRow> QueryVotes(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                                int offset);

}  // namespace streambed::polls
