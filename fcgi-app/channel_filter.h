#pragma once
// The channel filter of queryChannels (STREAM-PROTOCOL.md §4.1), shared with search's
// filter_conditions: the same fields mean the same thing on both routes. Both queries read
// `channels c JOIN channel_types ct ON ct.name = c.type SB_JOIN_OWN_MEMBER("me", "$1")`, with the
// acting user's id as $1.

#include <string>

#include "fcgi-app/filters.h"

namespace streambed {

// Registers every channel field and special (members, joined, hidden, ...) on `filter`.
void AddChannelFilterFields(FilterCompiler& filter);
// The sort fields of queryChannels over the same tables. Here rather than in the handler so that
// the filter fuzzer (fuzz/filters_fuzz.cpp) compiles exactly the handler's field set.
void AddChannelSortFields(SortCompiler& sort);

// The SQL condition "the acting user may read channel c": members-only types need membership,
// public_read types are open, a ban hides the channel; admins read everything.
std::string ChannelVisibleSql(bool admin);

}  // namespace streambed
