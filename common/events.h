#pragma once
// The fields every event starts with (STREAM-PROTOCOL.md §5): type, and for channel events cid,
// channel_id and channel_type (the client routes events by cid alone), then created_at. Workers
// and gateways both start their events here.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/json.h"

namespace streambed {

// Writes "type", the channel fields when `cid` is not empty, and "created_at". The caller has
// opened the object and adds the rest (user, message, ...).
void WriteEventStart(JsonWriter& w, std::string_view type, std::string_view cid, int64_t created_at);

// The created_at of an event payload written by WriteEventStart, found without parsing the whole
// payload (it sits among the first fields). For the gateway's delivery-latency metric.
std::optional<int64_t> EventCreatedAt(std::string_view payload);

// The channel sequence number of a persisted event ("seq", which fcgi-app/event.h writes as the
// last member), found without parsing the payload; nullopt for events that carry none (typing,
// watching, presence). For the room socket's resume, which drops live events it already replayed.
std::optional<int64_t> EventSeq(std::string_view payload);

}  // namespace streambed
