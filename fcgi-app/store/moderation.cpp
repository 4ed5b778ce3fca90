#include "fcgi-app/store/moderation.h"

#include "fcgi-app/store/messages.h"

namespace streambed::moderation {

namespace {
#define SB_MUTE_COLUMNS "sb_micros(expires), sb_micros(created_at), sb_micros(updated_at)"
const PgStatement kUserMutes{"mutes_user_list",
                             "SELECT user_id, target_id, " SB_MUTE_COLUMNS " FROM user_mutes "
                             "WHERE user_id = $1 AND (expires IS NULL OR expires > now()) ORDER BY created_at"};
const PgStatement kMuteUser{"mutes_user_add",
                            "INSERT INTO user_mutes (user_id, target_id, expires) VALUES ($1, $2, sb_time($3)) "
                            "ON CONFLICT (user_id, target_id) DO UPDATE SET expires = EXCLUDED.expires, updated_at = now() "
                            "RETURNING user_id, target_id, " SB_MUTE_COLUMNS};
const PgStatement kUnmuteUser{"mutes_user_remove",
                              "DELETE FROM user_mutes WHERE user_id = $1 AND target_id = $2 RETURNING 1"};
const PgStatement kChannelMutes{"mutes_channel_list",
                                "SELECT m.user_id, c.cid, sb_micros(m.expires), sb_micros(m.created_at), "
                                "sb_micros(m.updated_at) FROM channel_mutes m JOIN channels c ON c.pk = m.channel_pk "
                                "WHERE m.user_id = $1 AND (m.expires IS NULL OR m.expires > now()) ORDER BY m.created_at"};
const PgStatement kMuteChannel{
    "mutes_channel_add",
    "WITH up AS (INSERT INTO channel_mutes (user_id, channel_pk, expires) VALUES ($1, $2, sb_time($3)) "
    "ON CONFLICT (user_id, channel_pk) DO UPDATE SET expires = EXCLUDED.expires, updated_at = now() RETURNING *) "
    "SELECT up.user_id, c.cid, sb_micros(up.expires), sb_micros(up.created_at), sb_micros(up.updated_at) "
    "FROM up JOIN channels c ON c.pk = up.channel_pk"};
const PgStatement kUnmuteChannel{"mutes_channel_remove",
                                 "DELETE FROM channel_mutes WHERE user_id = $1 AND channel_pk = $2 RETURNING 1"};
const PgStatement kBlocks{"blocks_list",
                          "SELECT user_id, blocked_user_id, sb_micros(created_at) FROM user_blocks "
                          "WHERE user_id = $1 ORDER BY created_at"};
const PgStatement kBlock{"blocks_add",
                         "INSERT INTO user_blocks (user_id, blocked_user_id) VALUES ($1, $2) "
                         "ON CONFLICT (user_id, blocked_user_id) DO UPDATE SET created_at = user_blocks.created_at "
                         "RETURNING user_id, blocked_user_id, sb_micros(created_at)"};
const PgStatement kUnblock{"blocks_remove",
                           "DELETE FROM user_blocks WHERE user_id = $1 AND blocked_user_id = $2 RETURNING 1"};
const PgStatement kFlagMessage{
    "flags_message",
    "INSERT INTO flags (user_id, target_message_id, reason) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id, target_message_id) WHERE target_message_id IS NOT NULL DO UPDATE SET reason = "
    "coalesce(EXCLUDED.reason, flags.reason) "
    "RETURNING pk, user_id, target_message_id, target_user_id, reason, sb_micros(created_at)"};
const PgStatement kFlagUser{
    "flags_user",
    "INSERT INTO flags (user_id, target_user_id, reason) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id, target_user_id) WHERE target_user_id IS NOT NULL DO UPDATE SET reason = "
    "coalesce(EXCLUDED.reason, flags.reason) "
    "RETURNING pk, user_id, target_message_id, target_user_id, reason, sb_micros(created_at)"};
const PgStatement kBanUser{
    "users_ban",
    "UPDATE users SET banned = true, ban_expires = sb_time($2), ban_reason = $3, banned_by = $4, "
    "  banned_at = now(), updated_at = now() WHERE id = $1"};
const PgStatement kUnbanUser{
    "users_unban",
    "UPDATE users SET banned = false, ban_expires = NULL, ban_reason = NULL, banned_by = NULL, "
    "  banned_at = NULL, updated_at = now() WHERE id = $1"};

MuteRow ReadMute(const PgResult& r, int i) {
    return MuteRow{std::string(r.Str(i, 0)), std::string(r.Str(i, 1)), r.OptInt(i, 2), r.Int(i, 3), r.Int(i, 4)};
}
PgBatch::Take ReadMutesInto(std::vector<MuteRow>& into) {
    return [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i) into.push_back(ReadMute(r, i));
    };
}
}  // namespace

void UserMutes(PgBatch& batch, std::string_view user_id, std::vector<MuteRow>& into) {
    batch.Add(kUserMutes, PgParams().Add(user_id), ReadMutesInto(into));
}

std::vector<MuteRow> UserMutes(Pg& db, std::string_view user_id) {
    return RunAlone<std::vector<MuteRow>>(db, [&](PgBatch& b, auto& into) { UserMutes(b, user_id, into); });
}

MuteRow MuteUser(Pg& db, std::string_view user_id, std::string_view target, std::optional<int64_t> expires) {
    return ReadMute(db.Run(kMuteUser, PgParams().Add(user_id).Add(target).Add(expires)), 0);
}

bool UnmuteUser(Pg& db, std::string_view user_id, std::string_view target) {
    return !db.Run(kUnmuteUser, PgParams().Add(user_id).Add(target)).empty();
}

void ChannelMutes(PgBatch& batch, std::string_view user_id, std::vector<MuteRow>& into) {
    batch.Add(kChannelMutes, PgParams().Add(user_id), ReadMutesInto(into));
}

std::vector<MuteRow> ChannelMutes(Pg& db, std::string_view user_id) {
    return RunAlone<std::vector<MuteRow>>(db, [&](PgBatch& b, auto& into) { ChannelMutes(b, user_id, into); });
}

MuteRow MuteChannel(Pg& db, std::string_view user_id, int64_t channel_pk, std::optional<int64_t> expires) {
    return ReadMute(db.Run(kMuteChannel, PgParams().Add(user_id).Add(channel_pk).Add(expires)), 0);
}

bool UnmuteChannel(Pg& db, std::string_view user_id, int64_t channel_pk) {
    return !db.Run(kUnmuteChannel, PgParams().Add(user_id).Add(channel_pk)).empty();
}

void Blocks(PgBatch& batch, std::string_view user_id, std::vector<BlockRow>& into) {
    batch.Add(kBlocks, PgParams().Add(user_id), [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i)
            into.push_back(BlockRow{std::string(r.Str(i, 0)), std::string(r.Str(i, 1)), r.Int(i, 2)});
    });
}

std::vector<BlockRow> Blocks(Pg& db, std::string_view user_id) {
    return RunAlone<std::vector<BlockRow>>(db, [&](PgBatch& b, auto& into) { Blocks(b, user_id, into); });
}

BlockRow Block(Pg& db, std::string_view user_id, std::string_view blocked) {
    PgResult r = db.Run(kBlock, PgParams().Add(user_id).Add(blocked));
    return BlockRow{std::string(r.Str(0, 0)), std::string(r.Str(0, 1)), r.Int(0, 2)};
}

bool Unblock(Pg& db, std::string_view user_id, std::string_view blocked) {
    return !db.Run(kUnblock, PgParams().Add(user_id).Add(blocked)).empty();
}

FlagRow Flag(Pg& db, std::string_view user_id, const std::optional<std::string>& message_id,
             const std::optional<std::string>& target_user_id, const std::optional<std::string>& reason) {
    PgResult r = message_id ? db.Run(kFlagMessage, PgParams().Add(user_id).Add(message_id).Add(reason))
                            : db.Run(kFlagUser, PgParams().Add(user_id).Add(target_user_id).Add(reason));
    return FlagRow{r.Int(0, 0), std::string(r.Str(0, 1)), r.OptStr(0, 2), r.OptStr(0, 3), r.OptStr(0, 4), r.Int(0, 5)};
}

std::vector<FlaggedMessage> MessageFlags(Pg& db, const std::string& where, PgParams params, int limit, int offset) {
    std::string page = params.AddPage(limit, offset);
    PgResult r = db.RunDynamic(
        "SELECT f.pk, f.user_id, f.target_message_id, f.reason, sb_micros(f.created_at), " SB_MESSAGE_COLUMNS
        " FROM flags f JOIN messages msg ON msg.id = f.target_message_id JOIN channels ch ON ch.pk = msg.channel_pk "
        "WHERE f.target_message_id IS NOT NULL AND (" +
            where + ") ORDER BY f.created_at DESC, f.pk DESC" + page,
        params);
    std::vector<FlaggedMessage> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) {
        FlagRow f{r.Int(i, 0), std::string(r.Str(i, 1)), r.OptStr(i, 2), std::nullopt, r.OptStr(i, 3), r.Int(i, 4)};
        out.push_back({std::move(f), ReadMessage(r, i, 5)});
    }
    return out;
}

void BanUser(Pg& db, std::string_view user_id, std::optional<int64_t> expires, const std::optional<std::string>& reason,
             const std::optional<std::string>& banned_by) {
    db.Run(kBanUser, PgParams().Add(user_id).Add(expires).Add(reason).Add(banned_by));
}

std::vector<BanRow> Bans(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                         int offset) {
    std::string page = params.AddPage(limit, offset);
    PgResult r = db.RunDynamic(
        "SELECT bans.user_id, bans.banned_by, bans.reason, bans.shadow, sb_micros(bans.expires), "
        "sb_micros(bans.created_at), bans.cid FROM ("
        "  SELECT b.user_id, b.banned_by, b.reason, b.shadow, b.expires, b.created_at, c.cid, c.team "
        "  FROM channel_bans b JOIN channels c ON c.pk = b.channel_pk "
        "  UNION ALL "
        "  SELECT u.id, u.banned_by, u.ban_reason, false, u.ban_expires, coalesce(u.banned_at, u.updated_at), NULL, "
        "NULL "
        "  FROM users u WHERE u.banned) bans "
        "WHERE (" +
            where + ") ORDER BY " + order + page,
        params);
    std::vector<BanRow> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({std::string(r.Str(i, 0)), r.OptStr(i, 1), r.OptStr(i, 2), r.Bool(i, 3), r.OptInt(i, 4),
                       r.Int(i, 5), r.OptStr(i, 6)});
    return out;
}

void UnbanUser(Pg& db, std::string_view user_id) { db.Run(kUnbanUser, PgParams().Add(user_id)); }

}  // namespace streambed::moderation
