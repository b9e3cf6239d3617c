// stratad's process contract: socket mode, stale sockets, clear start-up
// errors, and a clean exit on SIGTERM that drains in-flight calls.
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/fs.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DaemonTest, SocketIsOwnerAndGroupOnlyInCreatedParents) {
  TempDir t;
  std::string sock = t.Sub("a/b/c/strata.sock");
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(t.Sub("root"), sock));
  struct stat st;
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(d->Stop(SIGTERM), 0);
  EXPECT_FALSE(Exists(sock));
}

TEST(DaemonTest, SocketModeAndGroupAreConfigurable) {
  TempDir t;
  std::string sock = t.Sub("s.sock");
  ASSERT_OK_AND_ASSIGN(auto d,
                       StratadProcess::Start(t.Sub("root"), sock,
                                             {"--socket-mode", "0600", "--socket-group", "42"}));
  struct stat st;
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_gid, 42u);
}

TEST(DaemonTest, StaleSocketIsReplaced) {
  TempDir t;
  std::string sock = t.Sub("s.sock");
  {  // a socket file nobody listens on, as a killed daemon leaves it
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  ASSERT_TRUE(Exists(sock));
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(t.Sub("root"), sock));
  SnapshotsClient c(d->channel());
  EXPECT_OK(c.List().status());
}

TEST(DaemonTest, SecondDaemonOnSameRootFailsWithOneLine) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(t.Sub("root"), t.Sub("a.sock")));
  RunResult r = RunStratad({"--root", t.Sub("root"), "--socket", t.Sub("b.sock")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("stratad: error:"));
  EXPECT_THAT(r.output, HasSubstr("in use by another process"));
  EXPECT_FALSE(Exists(t.Sub("b.sock")));
}

TEST(DaemonTest, LiveSocketIsNotStolen) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(t.Sub("root1"), t.Sub("s.sock")));
  RunResult r = RunStratad({"--root", t.Sub("root2"), "--socket", t.Sub("s.sock")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("in use by another running daemon"));
  SnapshotsClient c(d->channel());
  EXPECT_OK(c.List().status());
}

TEST(DaemonTest, ReadOnlyRootFailsWithOneLine) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("ro")));
  ASSERT_EQ(::mount("tmpfs", t.Sub("ro").c_str(), "tmpfs", MS_RDONLY, "size=1m"), 0);
  RunResult r = RunStratad({"--root", t.Sub("ro/root"), "--socket", t.Sub("s.sock")});
  ::umount2(t.Sub("ro").c_str(), MNT_DETACH);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("stratad: error: root"));
  EXPECT_THAT(r.output, HasSubstr("Read-only file system"));
}

TEST(DaemonTest, SigtermDrainsInFlightCallsAndExitsZero) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(t.Sub("root"), t.Sub("s.sock")));
  // Keep calls flowing while SIGTERM arrives: each either completes OK or is
  // refused (UNAVAILABLE once the socket is gone; CANCELLED for a call gRPC
  // had received but not started when shutdown began). Nothing else.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::thread caller([&] {
    SnapshotsClient c(d->channel());
    for (int i = 0; !stop; ++i) {
      absl::Status s = c.Prepare("k" + std::to_string(i), "").status();
      if (s.ok()) {
        ok++;
      } else if (s.code() != absl::StatusCode::kUnavailable &&
                 s.code() != absl::StatusCode::kCancelled) {
        bad++;
        ADD_FAILURE() << "call failed during shutdown: " << s;
      }
    }
  });
  while (ok < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(d->Stop(SIGTERM), 0);
  stop = true;
  caller.join();
  EXPECT_EQ(bad.load(), 0);
  // Everything acknowledged is there after restart.
  int acknowledged = ok.load();
  ASSERT_OK_AND_ASSIGN(auto d2, StratadProcess::Start(t.Sub("root"), t.Sub("s.sock")));
  SnapshotsClient c2(d2->channel());
  ASSERT_OK_AND_ASSIGN(auto all, c2.List());
  EXPECT_GE(static_cast<int>(all.size()), acknowledged);
}

TEST(DaemonTest, BadFlagsAreRefused) {
  RunResult r = RunStratad({"--no-such-flag"});
  EXPECT_NE(r.exit_code, 0);
  r = RunStratad({"--socket-mode", "9z"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("not an octal mode"));
}

}  // namespace
}  // namespace strata::testing
