#include "common/editing.h"

#include <rapidjson/document.h>

#include "common/errors.h"
#include "common/json.h"

namespace streambed::editing {

std::optional<State> ParseState(std::string_view name) {
    if (name == "typing") return State::kTyping;
    if (name == "editing") return State::kEditing;
    if (name == "idle") return State::kIdle;
    return std::nullopt;
}

std::string_view StateName(State state) {
    switch (state) {
        case State::kTyping:
            return "typing";
        case State::kEditing:
            return "editing";
        case State::kIdle:
            return "idle";
    }
    return "idle";
}

void CheckBase(int64_t base_version, int64_t version, int64_t kept) {
    if (base_version > version) {
        throw ApiError(409, code::kInputError,
                       "base_version " + std::to_string(base_version) + " is newer than the document's version " +
                           std::to_string(version) + " (it expired and started again): re-read it with GET",
                       "base_version");
    }
    if (version - base_version > kept) {
        throw ApiError(409, code::kInputError,
                       "base_version " + std::to_string(base_version) + " is older than the kept history (versions " +
                           std::to_string(version - kept) + " to " + std::to_string(version) +
                           "): re-read the document with GET",
                       "base_version");
    }
}

Outcome CatchUp(std::string_view text, const std::vector<ot::TextOperation>& later, std::optional<ot::TextOperation> op,
                std::optional<ot::Cursor> cursor) {
    // The document's length at the base version: what the first later op was applied to.
    int64_t base_length = 0;
    if (!later.empty()) {
        base_length = later.front().base_length();
    } else if (auto length = ot::Utf16Length(text)) {
        base_length = *length;
    } else {
        throw BadRequest("ops: the document is not valid UTF-8", "ops");
    }
    if (op && op->base_length() != base_length) {
        throw BadRequest("ops: the operation covers " + std::to_string(op->base_length()) +
                             " UTF-16 units but the document had " + std::to_string(base_length) + " at base_version",
                         "ops");
    }
    for (const ot::TextOperation& h : later) {
        if (op) {
            auto [mine, theirs] = ot::Transform(*op, h);
            if (cursor) cursor = ot::TransformCursor(*cursor, theirs, false);
            op = std::move(mine);
        } else if (cursor) {
            cursor = ot::TransformCursor(*cursor, h, false);
        }
    }
    Outcome out;
    out.text = op ? op->Apply(text) : std::string(text);
    if (cursor) ot::CheckCursor(*cursor, out.text);
    out.op = std::move(op);
    out.cursor = cursor;
    return out;
}

std::optional<ot::Cursor> MoveCursor(const ot::Cursor& cursor, const ot::TextOperation& applied, bool own) {
    if (cursor.anchor < 0 || cursor.head < 0 || cursor.anchor > applied.base_length() ||
        cursor.head > applied.base_length())
        return std::nullopt;
    return ot::TransformCursor(cursor, applied, own);
}

std::string ToJson(const Participant& p) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "id", p.user_id);
    PutRaw(w, "user", p.user_json);
    PutString(w, "state", StateName(p.state));
    PutKey(w, "cursor");
    if (p.cursor) {
        w.StartObject();
        PutInt(w, "anchor", p.cursor->anchor);
        PutInt(w, "head", p.cursor->head);
        w.EndObject();
    } else {
        w.Null();
    }
    PutInt(w, "updated_at", p.updated_at);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::optional<Participant> ParseParticipant(std::string_view json) {
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError() || !d.IsObject()) return std::nullopt;
    auto id = d.FindMember("id");
    auto user = d.FindMember("user");
    auto state = d.FindMember("state");
    auto updated = d.FindMember("updated_at");
    if (id == d.MemberEnd() || !id->value.IsString() || user == d.MemberEnd() || !user->value.IsObject() ||
        state == d.MemberEnd() || !state->value.IsString() || updated == d.MemberEnd() || !updated->value.IsInt64())
        return std::nullopt;
    auto parsed = ParseState(std::string_view(state->value.GetString(), state->value.GetStringLength()));
    if (!parsed) return std::nullopt;
    Participant p;
    p.user_id.assign(id->value.GetString(), id->value.GetStringLength());
    p.user_json = streambed::ToJson(user->value);
    p.state = *parsed;
    p.updated_at = updated->value.GetInt64();
    auto cursor = d.FindMember("cursor");
    if (cursor != d.MemberEnd() && cursor->value.IsObject()) {
        auto anchor = cursor->value.FindMember("anchor");
        auto head = cursor->value.FindMember("head");
        if (anchor != cursor->value.MemberEnd() && anchor->value.IsInt64() && head != cursor->value.MemberEnd() &&
            head->value.IsInt64())
            p.cursor = ot::Cursor{anchor->value.GetInt64(), head->value.GetInt64()};
    }
    return p;
}

std::string IdleMember(std::string_view cid, std::string_view message_id, std::string_view user_id) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    WriteString(w, cid);
    WriteString(w, message_id);
    WriteString(w, user_id);
    w.EndArray();
    return std::string(buf.GetString(), buf.GetSize());
}

std::optional<IdleEntry> ParseIdleMember(std::string_view member) {
    rapidjson::Document d;
    d.Parse(member.data(), member.size());
    if (d.HasParseError() || !d.IsArray() || d.Size() != 3) return std::nullopt;
    for (const auto& v : d.GetArray()) {
        if (!v.IsString()) return std::nullopt;
    }
    auto str = [&](rapidjson::SizeType i) { return std::string(d[i].GetString(), d[i].GetStringLength()); };
    return IdleEntry{str(0), str(1), str(2)};
}

}  // namespace streambed::editing
