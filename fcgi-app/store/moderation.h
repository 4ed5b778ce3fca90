#pragma once
// Mutes (users and channels), blocks, flags and app-wide bans.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

struct MuteRow {
    std::string user_id;
    std::string target;  // user id, or cid for a channel mute
    std::optional<int64_t> expires;
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

struct BlockRow {
    std::string user_id;
    std::string blocked_user_id;
    int64_t created_at = 0;
};

struct FlagRow {
    int64_t pk = 0;
    std::string user_id;
    std::optional<std::string> target_message_id;
    std::optional<std::string> target_user_id;
    std::optional<std::string> reason;
    int64_t created_at = 0;
};

namespace moderation {

// The batch forms fill `into` when `batch` runs (`into` must outlive the Run); the others read
// on their own.
void UserMutes(PgBatch& batch, std::string_view user_id, std::vector<MuteRow>& into);
std::vector<MuteRow> UserMutes(Pg& db, std::string_view user_id);
MuteRow MuteUser(Pg& db, std::string_view user_id, std::string_view target, std::optional<int64_t> expires);
bool UnmuteUser(Pg& db, std::string_view user_id, std::string_view target);

void ChannelMutes(PgBatch& batch, std::string_view user_id, std::vector<MuteRow>& into);
std::vector<MuteRow> ChannelMutes(Pg& db, std::string_view user_id);
MuteRow MuteChannel(Pg& db, std::string_view user_id, int64_t channel_pk, std::optional<int64_t> expires);
bool UnmuteChannel(Pg& db, std::string_view user_id, int64_t channel_pk);

void Blocks(PgBatch& batch, std::string_view user_id, std::vector<BlockRow>& into);
std::vector<BlockRow> Blocks(Pg& db, std::string_view user_id);
BlockRow Block(Pg& db, std::string_view user_id, std::string_view blocked);
bool Unblock(Pg& db, std::string_view user_id, std::string_view blocked);

FlagRow Flag(Pg& db, std::string_view user_id, const std::optional<std::string>& message_id,
             const std::optional<std::string>& target_user_id, const std::optional<std::string>& reason);

// Message flags for review, the newest first: `where` is a condition over flags `f`, the flagged
// message `msg` and its channel `ch` (FilterCompiler, handlers/moderation.cpp), with its values
// in `params`. Flags of messages deleted since are left out.
struct FlaggedMessage {
    FlagRow flag;
    MessageRow message;
};
std::vector<FlaggedMessage> MessageFlags(Pg& db, const std::string& where, PgParams params, int limit, int offset);
// An app-wide ban, with why and by whom (both optional: a server token names no one).
void BanUser(Pg& db, std::string_view user_id, std::optional<int64_t> expires, const std::optional<std::string>& reason,
             const std::optional<std::string>& banned_by);
// A ban as queryBannedUsers lists it: a channel's (`cid`) or the app's (no cid).
struct BanRow {
    std::string user_id;
    std::optional<std::string> banned_by;
    std::optional<std::string> reason;
    bool shadow = false;
    std::optional<int64_t> expires;
    int64_t created_at = 0;
    std::optional<std::string> cid;
};
// Channel and app-wide bans: `where` is a condition over `bans` (user_id, banned_by, reason,
// shadow, expires, created_at, cid, team) and `order` sorts them, with their values in `params`.
std::vector<BanRow> Bans(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                         int offset);
void UnbanUser(Pg& db, std::string_view user_id);

}  // namespace moderation
}  // namespace streambed
