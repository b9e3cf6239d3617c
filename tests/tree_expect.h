// Compares a directory tree (an unpacked image, usually a mounted snapshot)
// with an expectation file from ../shared/images (*.expected.json): type,
// mode, owner, size, sha256, link target, device numbers, mtime, xattrs,
// absent paths and hard-link groups.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace strata::testing {

// Every difference found, as one line each ("/etc/passwd: mode 0600, expected 0644");
// empty when the tree matches.
std::vector<std::string> CompareTreeWithExpectation(const std::string& root,
                                                    const std::string& expected_json);

// Every entry below `root` (path -> type, mode, owner, and the contents of a
// file, the target of a symlink, the user.note xattr), for comparing two trees.
std::map<std::string, std::string> DescribeTree(const std::string& root);

// Where ../shared/images is (STRATA_SHARED_IMAGES overrides).
std::string SharedImagesDir();

}  // namespace strata::testing
