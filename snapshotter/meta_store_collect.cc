// The metadata half of garbage collection: mark from the roots along parent
// links, stage the removal of every committed native snapshot not reached.
#include <algorithm>
#include <map>

#include "common/gc_labels.h"
#include "common/status_util.h"
#include "snapshotter/meta_store.h"
#include "snapshotter/records.h"

namespace strata::snapshotter {
namespace {

using meta::Family;

}  // namespace

absl::StatusOr<CollectPlan> MetaStore::StageCollect(meta::WriteTxn& txn,
                                                    const std::set<std::string>& native_roots,
                                                    const std::set<std::string>* only) const {
  struct Node {
    SnapshotRecord rec;
    bool marked = false;
    int depth = -1;  // parents below it, once known
  };
  // Only the native key space is collected; containerd's snapshots are its own.
  std::map<std::string, Node> nodes;
  absl::Status decode_error;
  std::string prefix(1, static_cast<char>(KeySpace::kNative));
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kSnapshots, prefix, [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(k.substr(1), v);
        if (!rec.ok()) {
          decode_error = rec.status();  // never sweep on metadata we cannot read
          return false;
        }
        nodes[std::string(k.substr(1))].rec = std::move(*rec);
        return true;
      }));
  STRATA_RETURN_IF_ERROR(decode_error);
  auto parent_of = [&nodes](const Node* n) -> Node* {
    if (n->rec.parent().empty()) return nullptr;
    auto it = nodes.find(n->rec.parent());
    return it == nodes.end() ? nullptr : &it->second;
  };

  std::vector<Node*> stack;
  for (auto& [key, node] : nodes) {
    if (node.rec.kind() != meta::v1::SNAPSHOT_KIND_COMMITTED || HasGcRootLabel(node.rec.labels()) ||
        native_roots.count(key)) {
      stack.push_back(&node);
    }
  }
  CollectPlan plan;
  auto mark = [&]() {
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      if (n->marked) continue;
      n->marked = true;
      ++plan.kept;
      if (Node* p = parent_of(n)) stack.push_back(p);
    }
  };
  mark();
  if (only != nullptr) {
    // A scoped collection keeps what lies outside the scope, and so its parents.
    for (auto& [key, node] : nodes) {
      if (!node.marked && !only->count(key)) stack.push_back(&node);
    }
    mark();
  }

  // Depth orders the sweep leaves first. Walk up to the first node whose
  // depth is known (or the base), then fill in the path on the way down.
  auto depth_of = [&](Node* n) {
    std::vector<Node*> path;
    Node* known = n;
    for (; known != nullptr && known->depth < 0; known = parent_of(known)) path.push_back(known);
    int depth = known == nullptr ? -1 : known->depth;
    for (auto p = path.rbegin(); p != path.rend(); ++p) (*p)->depth = ++depth;
    return n->depth;
  };

  for (auto& [key, node] : nodes) {
    if (node.marked) continue;
    Collectable c;
    c.key = key;
    c.dir_id = node.rec.id();
    c.depth = depth_of(&node);
    txn.Delete(Family::kSnapshots, RecordKey(KeySpace::kNative, key));
    if (!node.rec.parent().empty()) {
      // Its parent is swept too, or marked only through other children.
      txn.Delete(Family::kChildren, ChildKey(KeySpace::kNative, node.rec.parent(), key));
    }
    // A layer's directory goes with its last reference; records in the
    // other key space keep theirs. (One native record per chainID.)
    c.frees_dir = true;
    if (!node.rec.layer_chain_id().empty()) {
      STRATA_ASSIGN_OR_RETURN(c.frees_dir, StageLayerRelease(txn, node.rec.layer_chain_id()));
    }
    if (c.frees_dir) c.bytes = node.rec.size_bytes();
    plan.swept.push_back(std::move(c));
  }
  std::stable_sort(plan.swept.begin(), plan.swept.end(),
                   [](const Collectable& a, const Collectable& b) { return a.depth > b.depth; });
  return plan;
}

}  // namespace strata::snapshotter
