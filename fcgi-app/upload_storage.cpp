#include "fcgi-app/upload_storage.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/log.h"

namespace streambed {

namespace {
[[noreturn]] void Fail(const std::string& what, const std::string& path) {
    throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

std::string NewUploadKey() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for an upload key");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string key;
    for (unsigned char b : bytes) {
        key += kHex[b >> 4];
        key += kHex[b & 15];
    }
    return key;
}

bool MakeFolder(const std::string& path) {
    if (mkdir(path.c_str(), 0750) == 0) return true;
    if (errno == EEXIST) return false;
    Fail("cannot create the folder", path);
}

void EnsureUploadDirs(const Config& config) {
    // The folder itself may be several levels deep (/var/lib/streambed/uploads): create each.
    const std::string& dir = config.upload_dir;
    for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
        MakeFolder(dir.substr(0, slash));
    MakeFolder(dir);
    for (const char* sub : {"/i", "/f", "/.incoming"}) MakeFolder(dir + sub);
}

int OpenSpoolFile(const Config& config) {
    const std::string pattern = config.upload_dir + "/.incoming/body-XXXXXX";
    std::string tmpl = pattern;
    int fd = mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        EnsureUploadDirs(config);
        tmpl = pattern;  // a failed call may have filled in the X's
        fd = mkostemp(tmpl.data(), O_CLOEXEC);
    }
    if (fd < 0) Fail("cannot create a temporary file in", config.upload_dir + "/.incoming");
    unlink(tmpl.c_str());
    return fd;
}

void WriteNewFile(const std::string& path, std::string_view bytes) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) Fail("cannot create", path);
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int saved = errno;
            close(fd);
            unlink(path.c_str());
            errno = saved;
            Fail("cannot write", path);
        }
        done += static_cast<size_t>(n);
    }
    if (close(fd) != 0) {
        unlink(path.c_str());
        Fail("cannot write", path);
    }
}

void RemoveStored(const Config& config, const std::string& path, const std::string& thumb_path) {
    for (const std::string* rel : {&path, &thumb_path}) {
        if (rel->empty()) continue;
        std::string full = config.upload_dir + "/" + *rel;
        if (unlink(full.c_str()) != 0 && errno != ENOENT) {
            Log(LogLevel::kWarn, "upload.remove_failed").Str("path", *rel).Str("error", std::strerror(errno));
        }
        // Files live in a folder of their own (f/<key>/<name>): remove it too.
        if (rel->rfind("f/", 0) == 0) {
            size_t slash = full.rfind('/');
            if (rmdir(full.substr(0, slash).c_str()) != 0 && errno != ENOENT) {
                Log(LogLevel::kWarn, "upload.remove_failed").Str("path", *rel).Str("error", std::strerror(errno));
            }
        }
    }
}

}  // namespace streambed
