#pragma once
// Builds one event's JSON: the common start (common/events.h), then the caller's fields, then the
// channel sequence number for persisted events. Wire objects inside events are written by the same
// functions as REST replies (wire.h).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/events.h"
#include "common/json.h"
#include "fcgi-app/hydrate.h"
#include "fcgi-app/wire.h"

namespace streambed {

class Event {
public:
    Event(std::string_view type, std::string_view cid, int64_t created_at) : writer_(buffer_), type_(type) {
        writer_.StartObject();
        WriteEventStart(writer_, type, cid, created_at);
    }
    JsonWriter& w() { return writer_; }
    const std::string& type() const { return type_; }

    Event& User(const UserDirectory& users, const std::string& user_id) {
        PutKey(writer_, "user");
        WriteUserById(writer_, users, user_id);
        return *this;
    }
    // The per-channel sequence number of a persisted event (/api/sync/ resumes after it).
    Event& Seq(int64_t seq) {
        PutInt(writer_, "seq", seq);
        return *this;
    }
    // The seq of an event logged by the statement that reserves it (messages::Append).
    Event& SeqFromStore() {
        PutStoreSeq(writer_, "seq");
        return *this;
    }
    std::string Done() {
        writer_.EndObject();
        return std::string(buffer_.GetString(), buffer_.GetSize());
    }

private:
    JsonBuffer buffer_;
    JsonWriter writer_;
    std::string type_;
};

}  // namespace streambed
