#pragma once
// The document logic of POST /api/editing-audit-state/ (API.md §4, docs/ot.md "The server side"),
// free of I/O so that it is unit-tested on its own: who may base an edit on which version, how an
// edit made on an old version is caught up with the ops accepted since, how cursors follow, and
// the participant record kept per user in Redis (read by the workers and by the gateways' idle
// sweep). The handler (fcgi-app/handlers/editing.cpp) loads and stores; this decides.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ot.h"

namespace streambed::editing {

enum class State { kTyping, kEditing, kIdle };
std::optional<State> ParseState(std::string_view name);
std::string_view StateName(State state);

// Throws ApiError 409 (field "base_version") unless an edit based on `base_version` can be caught
// up with a document at `version` that keeps its last `kept` ops: the base must not be newer than
// the document (the client saw a document that has since expired and started again) nor older than
// the oldest kept op's base.
void CheckBase(int64_t base_version, int64_t version, int64_t kept);

struct Outcome {
    std::optional<ot::TextOperation> op;  // as applied to the current document
    std::optional<ot::Cursor> cursor;     // the caller's cursor on the resulting document
    std::string text;                     // the resulting document
};

// Catches the caller's edit up with the document. `text` is the current document and `later` the
// ops accepted since the caller's base version, oldest first (empty when the base is current).
// `op` was made on the document at the base version; `cursor` sits on the caller's own view of it:
// the base document with `op` applied (or the base document itself without an op).
// The op is transformed past each later op in turn, incoming op first (Transform(op, h).first, as
// ot.js's Server does), and the cursor follows the other side (h transformed past the op), as
// text someone else typed: it stays in front of text inserted exactly at it.
// Throws ApiError 400 when the op does not fit the document at the base version (field "ops") or
// the cursor falls outside the caller's document or inside a surrogate pair (field "cursor").
Outcome CatchUp(std::string_view text, const std::vector<ot::TextOperation>& later, std::optional<ot::TextOperation> op,
                std::optional<ot::Cursor> cursor);

// A stored cursor after an accepted op: `own` when the op is its owner's (the caller sent no new
// cursor: the caret moves past what it typed), else it stays in front of text typed at it.
// nullopt when it does not fit the op's document (never the case for what CatchUp let through,
// but a stored record is not trusted to the point of a 500).
std::optional<ot::Cursor> MoveCursor(const ot::Cursor& cursor, const ot::TextOperation& applied, bool own = false);

// What the store keeps per (document, user). `user_json` is the UserResponse at the time of the
// user's last call, so that the idle sweep can announce typing.stop without the database.
struct Participant {
    std::string user_id;
    std::string user_json;
    State state = State::kIdle;
    std::optional<ot::Cursor> cursor;
    int64_t updated_at = 0;  // unix microseconds
};
std::string ToJson(const Participant& participant);
// nullopt when the text is not a participant record.
std::optional<Participant> ParseParticipant(std::string_view json);

// The idle set's member for a participant: JSON [cid, message id, user id], unambiguous whatever
// the message id holds, and identical on every write so that ZADD moves the one entry.
std::string IdleMember(std::string_view cid, std::string_view message_id, std::string_view user_id);
struct IdleEntry {
    std::string cid;
    std::string message_id;
    std::string user_id;
};
std::optional<IdleEntry> ParseIdleMember(std::string_view member);

}  // namespace streambed::editing
