// Fuzzes containerd's filter language as Snapshots.List receives it: the
// input's lines are the filter strings. A filter that parses is matched
// against a few snapshots, which must not crash or hang either.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "snapshotter/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> filters = absl::StrSplit(input, '\n');
  auto filter = strata::snapshotter::Filter::ParseAll(filters);
  if (!filter.ok()) return 0;
  static const std::vector<strata::snapshotter::Info> kInfos = [] {
    std::vector<strata::snapshotter::Info> v(3);
    v[0].name = "sha256:abc";
    v[0].kind = strata::snapshotter::Kind::kCommitted;
    v[0].labels = {{"containerd.io/gc.root", "x"}, {"a.b", "c,d"}};
    v[1].name = "k8s.io/1/active";
    v[1].parent = "sha256:abc";
    v[1].kind = strata::snapshotter::Kind::kActive;
    v[2].name = std::string(300, 'x');
    v[2].kind = strata::snapshotter::Kind::kView;
    v[2].labels = {{"", ""}, {"\"quoted\"", "\n"}};
    return v;
  }();
  for (const auto& info : kInfos) (void)filter->Match(info);
  return 0;
}
