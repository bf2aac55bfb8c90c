#include "hcmsn/util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hcmsn/util/check.h"

namespace hcmsn::util {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::string tmpl = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmpl.data());
  HCMSN_CHECK(fd >= 0, "cannot create a temporary file next to '", path,
              "': ", std::strerror(errno), " (is the directory there and writable?)");
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      std::remove(tmpl.c_str());
      HCMSN_CHECK(false, "cannot write '", path, "': ", std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  // mkstemp creates 0600 files; give the result the usual permissions.
  ::chmod(tmpl.c_str(), 0644);
  if (!synced || !closed || std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmpl.c_str());
    HCMSN_CHECK(false, "cannot finish writing '", path, "': ", std::strerror(err));
  }
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  HCMSN_CHECK(!std::filesystem::is_directory(path, ec), "cannot read '", path,
              "': it is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in.good(), "cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  HCMSN_CHECK(!in.bad(), "error while reading '", path, "'");
  return out.str();
}

}  // namespace hcmsn::util
