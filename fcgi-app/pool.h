#pragma once
// The pre-forking supervisor: opens the FastCGI socket, forks the workers, replaces any that
// dies, and on SIGTERM passes the signal on and waits for them to finish their request.

#include <functional>

#include "common/config.h"
#include "common/metrics_catalog.h"

namespace streambed {

// `worker_main(listen_fd)` runs in each child and returns its exit code. Returns the exit code
// of the supervisor.
// The pool's gauge of live workers and its restart counter are kept in `metrics`.
int RunWorkerPool(const Config& config, const ApiMetrics& metrics, const std::function<int(int)>& worker_main);

}  // namespace streambed
