#include "fcgi-app/pool.h"

#include <fcgiapp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/log.h"

namespace streambed {

namespace {

volatile sig_atomic_t g_stop = 0;

void OnStop(int) { g_stop = 1; }

pid_t SpawnWorker(int listen_fd, const std::function<int(int)>& worker_main) {
    pid_t pid = fork();
    if (pid != 0) return pid;  // parent (or -1)
    // The child dies with the supervisor rather than keep serving unsupervised.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) _exit(0);
    signal(SIGCHLD, SIG_DFL);
    _exit(worker_main(listen_fd));
}

}  // namespace

int RunWorkerPool(const Config& config, const ApiMetrics& metrics, const std::function<int(int)>& worker_main) {
    if (FCGX_Init() != 0) {
        Log(LogLevel::kError, "pool.fcgi_init_failed");
        return 1;
    }
    // A bare ":port" would bind every interface; scripts pass a unix path or 127.0.0.1:port.
    int listen_fd = FCGX_OpenSocket(config.fcgi_socket.c_str(), 1024);
    if (listen_fd < 0) {
        Log(LogLevel::kError, "pool.listen_failed").Str("socket", config.fcgi_socket);
        return 1;
    }
    if (config.fcgi_socket.find('/') != std::string::npos) chmod(config.fcgi_socket.c_str(), 0660);

    struct sigaction sa {};
    sa.sa_handler = OnStop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // waitpid must return EINTR so the loop sees the flag
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::set<pid_t> workers;
    // Replacement is rate-limited: a worker that dies at start-up must not fork-bomb the host.
    int64_t window_start = NowSeconds();
    int spawned_in_window = 0;
    bool started = false;
    while (!g_stop) {
        while (workers.size() < static_cast<size_t>(config.workers) && !g_stop) {
            if (NowSeconds() - window_start > 10) {
                window_start = NowSeconds();
                spawned_in_window = 0;
            }
            if (++spawned_in_window > 3 * config.workers) std::this_thread::sleep_for(std::chrono::seconds(1));
            pid_t pid = SpawnWorker(listen_fd, worker_main);
            if (pid > 0) {
                workers.insert(pid);
                metrics.workers.With().Set(static_cast<double>(workers.size()));
            } else {
                Log(LogLevel::kError, "pool.fork_failed").Int("errno", errno);
                std::this_thread::sleep_for(std::chrono::seconds(1));
            }
        }
        if (!started) {
            Log(LogLevel::kInfo, "pool.started").Int("workers", config.workers).Str("socket", config.fcgi_socket);
            started = true;
        }
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(200));
            continue;
        }
        if (workers.erase(pid) > 0) {
            metrics.workers.With().Set(static_cast<double>(workers.size()));
            metrics.worker_restarts.With().Inc();
            Log(LogLevel::kWarn, "pool.worker_died")
                .Int("worker_pid", pid)
                .Int("exit", WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                .Int("signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        }
    }

    Log(LogLevel::kInfo, "pool.stopping").Int("workers", static_cast<int64_t>(workers.size()));
    for (pid_t pid : workers) kill(pid, SIGTERM);
    // Workers finish the request in hand; after 10 s they are killed.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!workers.empty() && std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            workers.erase(pid);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    for (pid_t pid : workers) kill(pid, SIGKILL);
    while (waitpid(-1, nullptr, 0) > 0) {
    }
    if (config.fcgi_socket.find('/') != std::string::npos) unlink(config.fcgi_socket.c_str());
    Log(LogLevel::kInfo, "pool.stopped");
    return 0;
}

}  // namespace streambed
