#pragma once
// One FastCGI worker process: accepts requests on the shared listening socket until SIGTERM.

#include "common/config.h"
#include "fcgi-app/app.h"
#include "fcgi-app/http.h"

namespace streambed {

// Runs until SIGTERM; returns the process exit code. The metrics live in the pool's shared memory.
int RunWorker(const Config& config, int listen_fd, const metrics::Registry& registry, const ApiMetrics& metrics);

// Routes, authenticates and runs one request; never throws. Exposed for the in-process tests.
Reply Dispatch(App& app, const Request& request);

// Requests bodies above this are refused with 413 (nginx refuses them first; this is the backstop).
constexpr size_t kMaxBodyBytes = 1 << 20;

}  // namespace streambed
