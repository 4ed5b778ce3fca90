#include "fcgi-app/store/polls.h"

#include <unordered_map>

namespace streambed::polls {

namespace {

// clang-format off
#define SB_POLL_COLUMNS \
    "p.pk, p.id, p.created_by, p.name, p.description, p.voting_visibility, p.enforce_unique_vote, " \
    "p.max_votes_allowed, p.allow_user_suggested_options, p.allow_answers, p.is_closed, p.custom::text, " \
    "sb_micros(p.created_at), sb_micros(p.updated_at), " \
    "(SELECT count(*) FROM poll_votes v WHERE v.poll_pk = p.pk AND v.option_id IS NOT NULL), " \
    "(SELECT count(*) FROM poll_votes v WHERE v.poll_pk = p.pk AND v.option_id IS NULL), " \
    "(SELECT id FROM messages WHERE poll_id = p.id)"
#define SB_VOTE_COLUMNS(v) \
    #v ".id, (SELECT id FROM polls WHERE pk = " #v ".poll_pk), " #v ".option_id, " #v ".answer_text, " #v ".user_id, " \
    "sb_micros(" #v ".created_at), sb_micros(" #v ".updated_at)"
// clang-format on

const PgStatement kPolls{"poll_load", "SELECT " SB_POLL_COLUMNS " FROM polls p WHERE p.id = ANY($1::text[])"};
const PgStatement kOptions{
    "poll_options_load",
    "SELECT p.id, o.id, o.text, o.position, o.custom::text, sb_micros(o.created_at), sb_micros(o.updated_at), "
    "  (SELECT count(*) FROM poll_votes v WHERE v.poll_pk = o.poll_pk AND v.option_id = o.id) "
    "FROM polls p JOIN poll_options o ON o.poll_pk = p.pk WHERE p.id = ANY($1::text[]) "
    "ORDER BY o.poll_pk, o.position, o.created_at"};
// The newest votes of each option, the newest answers and the caller's own votes, each found
// through poll_votes_latest or the caller's unique index, never by reading every vote.
const PgStatement kVotes{"poll_votes_load",
                         "SELECT x.kind, x.id, p.id, x.option_id, x.answer_text, x.user_id, sb_micros(x.created_at), "
                         "  sb_micros(x.updated_at) "
                         "FROM polls p CROSS JOIN LATERAL ("
                         "  (SELECT 'option' AS kind, v.* FROM poll_options o CROSS JOIN LATERAL ("
                         "     SELECT * FROM poll_votes v WHERE v.poll_pk = o.poll_pk AND v.option_id = o.id "
                         "     ORDER BY v.created_at DESC LIMIT $3) v WHERE o.poll_pk = p.pk) "
                         "  UNION ALL "
                         "  (SELECT 'answer', v.* FROM poll_votes v WHERE v.poll_pk = p.pk AND v.option_id IS NULL "
                         "   ORDER BY v.created_at DESC LIMIT $3) "
                         "  UNION ALL "
                         "  (SELECT 'own', v.* FROM poll_votes v WHERE v.poll_pk = p.pk AND v.user_id = $2)"
                         ") x WHERE p.id = ANY($1::text[]) ORDER BY x.created_at DESC, x.id"};

const PgStatement kCreate{
    "poll_create",
    "WITH p AS (INSERT INTO polls (id, created_by, name, description, voting_visibility, enforce_unique_vote, "
    "  max_votes_allowed, allow_user_suggested_options, allow_answers, is_closed, custom) "
    "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) ON CONFLICT (id) DO NOTHING RETURNING pk), "
    "o AS (INSERT INTO poll_options (poll_pk, id, position, text, custom) "
    "  SELECT p.pk, u.id, u.ord - 1, u.text, u.custom::jsonb FROM p, "
    "  unnest($12::text[], $13::text[], $14::text[]) WITH ORDINALITY u(id, text, custom, ord)) "
    "SELECT pk FROM p"};
const PgStatement kUpdate{
    "poll_update",
    "UPDATE polls SET name = $2, description = $3, voting_visibility = $4, enforce_unique_vote = $5, "
    "  max_votes_allowed = $6, allow_user_suggested_options = $7, allow_answers = $8, is_closed = $9, "
    "  custom = $10::jsonb, updated_at = now() WHERE pk = $1"};
// Options a full update leaves out go, with their votes; the texts of those it keeps are set
// aside first, so that two options may swap texts without tripping the unique index midway.
const PgStatement kReplaceOptions{
    "poll_replace_options",
    "WITH gone AS (DELETE FROM poll_options WHERE poll_pk = $1 AND id <> ALL($2::text[])), "
    "aside AS (UPDATE poll_options SET text = id || chr(1) || text WHERE poll_pk = $1 AND id = ANY($2::text[])) "
    "SELECT 1"};
const PgStatement kUpsertOptions{
    "poll_upsert_options",
    "INSERT INTO poll_options AS o (poll_pk, id, position, text, custom) "
    "SELECT $1, u.id, u.ord - 1, u.text, u.custom::jsonb "
    "FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY u(id, text, custom, ord) "
    "ON CONFLICT (poll_pk, id) DO UPDATE SET position = excluded.position, text = excluded.text, "
    "  custom = excluded.custom, "
    "  updated_at = CASE WHEN o.text = o.id || chr(1) || excluded.text THEN o.updated_at ELSE now() END"};
const PgStatement kDelete{"poll_delete", "DELETE FROM polls WHERE pk = $1"};
const PgStatement kLock{"poll_lock", "SELECT pk FROM polls WHERE id = $1 FOR UPDATE"};
const PgStatement kTouch{"poll_touch", "UPDATE polls SET updated_at = now() WHERE pk = $1"};

const PgStatement kAddOption{
    "poll_add_option",
    "INSERT INTO poll_options (poll_pk, id, position, text, custom) "
    "SELECT $1, $2, coalesce((SELECT max(position) + 1 FROM poll_options WHERE poll_pk = $1), 0), $3, $4::jsonb "
    "ON CONFLICT (poll_pk, text) DO NOTHING"};
const PgStatement kUpdateOption{
    "poll_update_option",
    "UPDATE poll_options SET text = $3, custom = $4::jsonb, updated_at = now() WHERE poll_pk = $1 AND id = $2"};
const PgStatement kDeleteOption{"poll_delete_option", "DELETE FROM poll_options WHERE poll_pk = $1 AND id = $2"};

const PgStatement kUserVotes{"poll_user_votes", "SELECT " SB_VOTE_COLUMNS(v) " FROM poll_votes v "
                                                "WHERE v.poll_pk = $1 AND v.user_id = $2 ORDER BY v.created_at, v.id"};
const PgStatement kInsertVote{"poll_insert_vote",
                              "INSERT INTO poll_votes AS v (id, poll_pk, user_id, option_id, answer_text) "
                              "VALUES ($1, $2, $3, $4, $5) RETURNING " SB_VOTE_COLUMNS(v)};
const PgStatement kChangeVote{"poll_change_vote",
                              "UPDATE poll_votes AS v SET option_id = $2, answer_text = $3, updated_at = now() "
                              "WHERE v.id = $1 RETURNING " SB_VOTE_COLUMNS(v)};
const PgStatement kDeleteVote{"poll_delete_vote",
                              "DELETE FROM poll_votes AS v WHERE v.poll_pk = $1 AND v.id = $2 "
                              "RETURNING " SB_VOTE_COLUMNS(v)};

PollRow ReadPoll(const PgResult& r, int i) {
    PollRow p;
    p.pk = r.Int(i, 0);
    p.id = std::string(r.Str(i, 1));
    p.created_by = std::string(r.Str(i, 2));
    p.settings.name = std::string(r.Str(i, 3));
    p.settings.description = std::string(r.Str(i, 4));
    p.settings.voting_visibility = std::string(r.Str(i, 5));
    p.settings.enforce_unique_vote = r.Bool(i, 6);
    p.settings.max_votes_allowed = r.OptInt(i, 7);
    p.settings.allow_user_suggested_options = r.Bool(i, 8);
    p.settings.allow_answers = r.Bool(i, 9);
    p.settings.is_closed = r.Bool(i, 10);
    p.settings.custom_json = std::string(r.Str(i, 11));
    p.created_at = r.Int(i, 12);
    p.updated_at = r.Int(i, 13);
    p.vote_count = r.Int(i, 14);
    p.answers_count = r.Int(i, 15);
    p.message_id = r.OptStr(i, 16);
    return p;
}

// A vote from its columns starting at `c` (SB_VOTE_COLUMNS' order).
VoteRow ReadVote(const PgResult& r, int i, int c) {
    VoteRow v;
    v.id = std::string(r.Str(i, c));
    v.poll_id = std::string(r.Str(i, c + 1));
    v.option_id = r.OptStr(i, c + 2);
    v.answer_text = r.OptStr(i, c + 3);
    v.user_id = std::string(r.Str(i, c + 4));
    v.created_at = r.Int(i, c + 5);
    v.updated_at = r.Int(i, c + 6);
    return v;
}

std::vector<VoteRow> ReadVotes(const PgResult& r) {
    std::vector<VoteRow> votes;
    for (int i = 0; i < r.rows(); ++i) votes.push_back(ReadVote(r, i, 0));
    return votes;
}

// The option columns of a create or a full update: ids, texts and custom data side by side.
PgParams& AddOptions(PgParams& p, const std::vector<NewOption>& options) {
    std::vector<std::string> ids, texts, customs;
    for (const auto& o : options) {
        ids.push_back(o.id);
        texts.push_back(o.text);
        customs.push_back(o.custom_json);
    }
    return p.AddArray(ids).AddArray(texts).AddArray(customs);
}

PgParams& AddSettings(PgParams& p, const Settings& s) {
    return p.Add(s.name)
        .Add(s.description)
        .Add(s.voting_visibility)
        .Add(s.enforce_unique_vote)
        .Add(s.max_votes_allowed)
        .Add(s.allow_user_suggested_options)
        .Add(s.allow_answers)
        .Add(s.is_closed)
        .Add(s.custom_json);
}

}  // namespace

void Load(PgBatch& batch, const std::vector<std::string>& poll_ids, std::string_view caller, std::vector<PollRow>& into,
          std::vector<VoteRow>& own) {
    if (poll_ids.empty()) return;
    // The three answers arrive in this order; each take finds the polls the first one read.
    batch.Add(kPolls, PgParams().AddArray(poll_ids), [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i) into.push_back(ReadPoll(r, i));
    });
    batch.Add(kOptions, PgParams().AddArray(poll_ids), [&into](const PgResult& r) {
        std::unordered_map<std::string_view, PollRow*> by_id;
        for (auto& p : into) by_id[p.id] = &p;
        for (int i = 0; i < r.rows(); ++i) {
            auto it = by_id.find(r.Str(i, 0));
            if (it == by_id.end()) continue;
            OptionRow o;
            o.id = std::string(r.Str(i, 1));
            o.text = std::string(r.Str(i, 2));
            o.position = static_cast<int>(r.Int(i, 3));
            o.custom_json = std::string(r.Str(i, 4));
            o.created_at = r.Int(i, 5);
            o.updated_at = r.Int(i, 6);
            o.vote_count = r.Int(i, 7);
            it->second->options.push_back(std::move(o));
        }
    });
    batch.Add(kVotes, PgParams().AddArray(poll_ids).Add(caller).Add(kLatestVotes), [&into, &own](const PgResult& r) {
        std::unordered_map<std::string_view, PollRow*> by_id;
        for (auto& p : into) by_id[p.id] = &p;
        for (int i = 0; i < r.rows(); ++i) {
            std::string_view kind = r.Str(i, 0);
            VoteRow v = ReadVote(r, i, 1);
            if (kind == "own") {
                own.push_back(std::move(v));
                continue;
            }
            auto it = by_id.find(v.poll_id);
            if (it == by_id.end()) continue;
            (kind == "answer" ? it->second->latest_answers : it->second->latest_votes).push_back(std::move(v));
        }
    });
}

std::optional<PollRow> Find(Pg& db, std::string_view poll_id, std::string_view caller, std::vector<VoteRow>* own) {
    std::vector<PollRow> found;
    std::vector<VoteRow> own_votes;
    PgBatch batch(db);
    Load(batch, {std::string(poll_id)}, caller, found, own_votes);
    batch.Run();
    if (found.empty()) return std::nullopt;
    if (own != nullptr) *own = std::move(own_votes);
    return std::move(found.front());
}

std::optional<int64_t> Create(Pg& db, std::string_view id, std::string_view created_by, const Settings& settings,
                              const std::vector<NewOption>& options) {
    PgParams p;
    p.Add(id).Add(created_by);
    AddSettings(p, settings);
    AddOptions(p, options);
    PgResult r = db.Run(kCreate, p);
    if (r.empty()) return std::nullopt;
    return r.Int(0, 0);
}

bool Update(Pg& db, int64_t pk, const Settings& settings, const std::vector<NewOption>* options) {
    PgParams p;
    p.Add(pk);
    AddSettings(p, settings);
    if (db.Run(kUpdate, p).affected() == 0) return false;
    if (options != nullptr) {
        std::vector<std::string> kept;
        for (const auto& o : *options) kept.push_back(o.id);
        db.Run(kReplaceOptions, PgParams().Add(pk).AddArray(kept));
        PgParams u;
        u.Add(pk);
        db.Run(kUpsertOptions, AddOptions(u, *options));
    }
    return true;
}

bool Delete(Pg& db, int64_t pk) { return db.Run(kDelete, PgParams().Add(pk)).affected() > 0; }

std::optional<int64_t> Lock(Pg& db, std::string_view poll_id) {
    PgResult r = db.Run(kLock, PgParams().Add(poll_id));
    if (r.empty()) return std::nullopt;
    return r.Int(0, 0);
}

namespace {

// An option written by `statement` ($1 poll, $2 id, $3 text, $4 custom); the poll's updated_at
// moves with it.
bool WriteOption(Pg& db, const PgStatement& statement, int64_t pk, const NewOption& option) {
    PgParams p;
    p.Add(pk).Add(option.id).Add(option.text).Add(option.custom_json);
    if (db.Run(statement, p).affected() == 0) return false;
    db.Run(kTouch, PgParams().Add(pk));
    return true;
}

}  // namespace

bool AddOption(Pg& db, int64_t pk, const NewOption& option) { return WriteOption(db, kAddOption, pk, option); }

bool UpdateOption(Pg& db, int64_t pk, const NewOption& option) { return WriteOption(db, kUpdateOption, pk, option); }

bool DeleteOption(Pg& db, int64_t pk, std::string_view option_id) {
    bool deleted = db.Run(kDeleteOption, PgParams().Add(pk).Add(option_id)).affected() > 0;
    if (deleted) db.Run(kTouch, PgParams().Add(pk));
    return deleted;
}

std::vector<VoteRow> UserVotes(Pg& db, int64_t pk, std::string_view user_id) {
    return ReadVotes(db.Run(kUserVotes, PgParams().Add(pk).Add(user_id)));
}

VoteRow InsertVote(Pg& db, int64_t pk, std::string_view vote_id, std::string_view user_id,
                   const std::optional<std::string>& option_id, const std::optional<std::string>& answer_text) {
    PgResult r = db.Run(kInsertVote, PgParams().Add(vote_id).Add(pk).Add(user_id).Add(option_id).Add(answer_text));
    return ReadVote(r, 0, 0);
}

VoteRow ChangeVote(Pg& db, std::string_view vote_id, const std::optional<std::string>& option_id,
                   const std::optional<std::string>& answer_text) {
    PgResult r = db.Run(kChangeVote, PgParams().Add(vote_id).Add(option_id).Add(answer_text));
    return ReadVote(r, 0, 0);
}

std::optional<VoteRow> DeleteVote(Pg& db, int64_t pk, std::string_view vote_id) {
    PgResult r = db.Run(kDeleteVote, PgParams().Add(pk).Add(vote_id));
    if (r.empty()) return std::nullopt;
    return ReadVote(r, 0, 0);
}

std::vector<std::string> QueryIds(Pg& db, const std::string& where, const std::string& order, PgParams params,
                                  int limit, int offset) {
    std::string page = params.AddPage(limit, offset);
    PgResult r = db.RunDynamic("SELECT p.id FROM polls p WHERE (" + where + ") ORDER BY " + order + page, params);
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.emplace_back(r.Str(i, 0));
    return ids;
}

std::vector<VoteRow> QueryVotes(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                                int offset) {
    std::string page = params.AddPage(limit, offset);
    PgResult r = db.RunDynamic("SELECT " SB_VOTE_COLUMNS(v) " FROM poll_votes v WHERE v.poll_pk = $1 AND (" + where +
                                   ") ORDER BY " + order + page,
                               params);
    return ReadVotes(r);
}

}  // namespace streambed::polls
