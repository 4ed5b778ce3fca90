#pragma once
// What other handlers do with uploads: a deleted message or channel takes its files with it.

#include <vector>

#include "fcgi-app/call.h"
#include "fcgi-app/model.h"
#include "fcgi-app/store/uploads.h"

namespace streambed {

// The uploads a message shows (attachment URLs naming our files, uploaded by the message's author
// to its channel): their rows removed, in the caller's transaction.
std::vector<UploadRow> ForgetMessageUploads(Call& call, const MessageRow& message);

// Removes the files of rows already deleted, once the transaction that deleted them committed.
void RemoveUploadFiles(const Call& call, const std::vector<UploadRow>& rows);

}  // namespace streambed
