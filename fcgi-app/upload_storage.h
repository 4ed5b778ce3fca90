#pragma once
// The storage folder (STREAMBED_UPLOAD_DIR, docs/uploads.md):
//     i/<key>.<png|jpg|gif|webp>     images, under the extension their content proved
//     i/<key>.thumb.<jpg|png>        their thumbnails
//     f/<key>/<sanitised name>       files, in a folder of their own so the URL keeps the name
//     .incoming/                     request bodies being received (unlinked at once)
// <key> is 128 random bits in hex: a URL cannot be guessed, and nginx lists no folder.

#include <string>
#include <string_view>

#include "common/config.h"

namespace streambed {

// 32 lower-case hex digits from the system's CSPRNG.
std::string NewUploadKey();

// Creates the folders when missing; throws std::runtime_error naming the folder.
void EnsureUploadDirs(const Config& config);

// A temporary file for a request body: created in .incoming/ and unlinked at once, so a crash
// leaves nothing behind. Returns the descriptor; throws std::runtime_error.
int OpenSpoolFile(const Config& config);

// Writes `bytes` to a new file (never over an existing one, never through a symlink), mode 0640.
void WriteNewFile(const std::string& path, std::string_view bytes);
// Creates a folder (mode 0750); false when it exists already.
bool MakeFolder(const std::string& path);

// Removes a stored upload: `path` relative to the folder (and its thumbnail, and the file's own
// folder). Missing files are not an error: deleting twice is harmless. Never throws.
void RemoveStored(const Config& config, const std::string& path, const std::string& thumb_path);

}  // namespace streambed
