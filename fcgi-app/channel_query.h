#pragma once
// The fields of getstream.io's channel queries (POST /api/channels/): which filter fields and sort
// fields exist and the SQL behind each. In one place so that the handler and the filter fuzzer
// (fuzz/filters_fuzz.cpp) compile exactly the same field set.

#include "fcgi-app/filters.h"

namespace streambed {

// Filter fields over `channels c`, `members me` (the caller's membership; $1 is the caller's id).
void AddChannelFilterFields(FilterCompiler& filter);
// Sort fields over the same tables.
void AddChannelSortFields(SortCompiler& sort);

}  // namespace streambed
