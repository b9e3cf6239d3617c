// strata: the operator's CLI, a client of stratad. Commands and flags are a
// contract (DESIGN.md, last section). Exit codes: 0 success, 1 the operation
// failed (one line on stderr), 2 bad usage, 3 fsck left problems.
#include <cstdio>
#include <cstring>
#include <set>

#include "CLI/CLI.hpp"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/errors.h"

namespace {

using strata::cli::kExitUsage;
using strata::cli::ReportError;

// The first word that is neither an option nor --socket's value: the command.
std::string CommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--socket") == 0) {
      ++i;
    } else if (argv[i][0] != '-') {
      return argv[i];
    }
  }
  return "";
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// CLI11's own errors, reworded where they mislead and prefixed as ours.
int UsageError(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  bool json = WantsJson(argc, argv);
  std::string word = CommandWord(argc, argv);
  std::set<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.insert(sub->get_name());
  }
  std::string message = e.what();
  if (!word.empty() && !commands.count(word)) {
    message = "unknown command \"" + word + "\" (see strata --help)";
  } else if (word.empty()) {
    message = "a command is required (see strata --help)";
  }
  return ReportError(message, "USAGE", kExitUsage, json);
}

}  // namespace

int main(int argc, char** argv) {
  strata::cli::Globals g;
  CLI::App app{"strata: container image layer store"};
  app.require_subcommand(1);
  app.add_option("--socket", g.socket, "stratad's socket")->capture_default_str();
  app.add_flag("--json", g.json, "machine-readable output");

  std::string file, name, dir, rw_key, key, base, compression = "gzip";
  bool containerd = false;
  auto* import = app.add_subcommand("import", "import an OCI or docker-save archive");
  import->add_option("FILE", file, "archive")->required()->check(strata::cli::kNonEmpty);
  import->add_option("--name", name, "name for the image (overrides the archive's)")
      ->check(strata::cli::kNonEmpty);
  std::string ref, platform;
  auto* pull = app.add_subcommand("pull", "pull an image from a registry");
  pull->add_option("REF", ref, "reference, as Docker users write it (debian, host:5000/a/b:tag)")
      ->required()
      ->check(strata::cli::kNonEmpty);
  pull->add_option("--platform", platform, "os/arch[/variant] (default: the daemon's)")
      ->check(strata::cli::kNonEmpty);
  pull->add_option("--name", name, "name for the image (default: the normalised reference)")
      ->check(strata::cli::kNonEmpty);
  auto* push = app.add_subcommand("push", "push an image to a registry");
  push->add_option("NAME", name, "the image in the store")
      ->required()
      ->check(strata::cli::kNonEmpty);
  push->add_option("REF", ref, "where to, as host:5000/a/b:tag")
      ->required()
      ->check(strata::cli::kNonEmpty);
  auto* images = app.add_subcommand("images", "list images");
  auto* rmi =
      app.add_subcommand("rmi", "delete an image name (its layers go at garbage collection)");
  rmi->add_option("NAME", name, "the image name")->required()->check(strata::cli::kNonEmpty);
  auto* blobs = app.add_subcommand("blobs", "list stored blobs");
  auto* snapshots = app.add_subcommand("snapshots", "list snapshots (the native key space)");
  snapshots->add_flag("--containerd", containerd, "list containerd's key space instead");
  bool tree = false;
  snapshots->add_flag("--tree", tree, "show each snapshot under its parent");
  auto* mount =
      app.add_subcommand("mount", "mount an image's rootfs (read-only, or writable with --rw)");
  mount->add_option("NAME", name, "the image")->required()->check(strata::cli::kNonEmpty);
  mount->add_option("DIR", dir, "where to mount it (not already a mount point)")
      ->required()
      ->check(strata::cli::kNonEmpty);
  auto* rw_option =
      mount
          ->add_option("--rw", rw_key,
                       "writable snapshot KEY (created, or reused if it is above the same image)")
          ->check(strata::cli::kNonEmpty);
  std::string size, disk;
  auto* size_option =
      mount
          ->add_option("--size", size,
                       "limit the new writable layer to this size (a write past it fails "
                       "with ENOSPC), like 512M or 10G")
          ->check(strata::cli::kByteSize)
          ->needs(rw_option);
  mount
      ->add_option("--disk", disk,
                   "fixed: reserve the whole size now; dynamic (the default): take space as "
                   "written")
      ->check(CLI::IsMember({"fixed", "dynamic"}))
      ->needs(size_option);
  auto* unmount = app.add_subcommand("unmount", "unmount and release what `strata mount` made");
  unmount->add_option("DIR", dir, "a directory `strata mount` mounted")
      ->required()
      ->check(strata::cli::kNonEmpty);

  std::string format = "oci";
  bool force = false;
  auto* exp =
      app.add_subcommand("export", "write an image as an archive (OCI layout or docker save)");
  exp->add_option("NAME", name, "the image")->required()->check(strata::cli::kNonEmpty);
  exp->add_option("FILE", file, "the archive to write")->required()->check(strata::cli::kNonEmpty);
  exp->add_option("--format", format, "oci or docker")
      ->capture_default_str()
      ->check(CLI::IsMember({"oci", "docker"}));
  exp->add_flag("--force", force, "replace FILE if it exists");
  auto* rm = app.add_subcommand("rm", "remove a snapshot (native key space)");
  rm->add_option("KEY", key, "the snapshot's key")->required()->check(strata::cli::kNonEmpty);
  auto* du =
      app.add_subcommand("du", "disk use per image: unique and shared bytes, what sharing saves");
  bool repair = false;
  auto* fsck = app.add_subcommand("fsck", "check the store (exit 0: clean, 3: problems remain)");
  fsck->add_flag("--repair", repair, "fix what can be fixed");
  auto* commit = app.add_subcommand("commit", "commit a writable snapshot as a new image");
  commit->add_option("KEY", key, "the writable snapshot (from mount --rw)")
      ->required()
      ->check(strata::cli::kNonEmpty);
  commit->add_option("--name", name, "name of the new image")
      ->required()
      ->check(strata::cli::kNonEmpty);
  commit
      ->add_option("--base", base, "the image it builds on (default: the one it was mounted from)")
      ->check(strata::cli::kNonEmpty);
  commit->add_option("--compression", compression, "gzip, zstd or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  bool squash_commit = false;
  commit->add_flag("--squash", squash_commit,
                   "merge the changes into the image's top layer (as many layers as the base)");
  auto* info = app.add_subcommand("info", "the daemon's version, root and sized-layer backends");
  int merge_layers = 0;
  auto* squash = app.add_subcommand(
      "squash", "merge an image's top layers into one, as a new image (the rest stay shared)");
  std::string image;
  squash->add_option("NAME", image, "the image")->required()->check(strata::cli::kNonEmpty);
  squash->add_option("--name", name, "name of the new image")
      ->required()
      ->check(strata::cli::kNonEmpty);
  squash->add_option("--layers", merge_layers, "how many of the top layers (default: all)")
      ->check(CLI::Range(1, 1 << 20));
  squash->add_option("--compression", compression, "gzip, zstd or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  bool dry_run = false;
  std::string ingest_max_age;
  auto* gc = app.add_subcommand("gc", "remove what nothing references (images, leases, roots)");
  gc->add_flag("--dry-run", dry_run, "only say what would go and how many bytes");
  gc->add_option("--ingest-max-age", ingest_max_age,
                 "ingests idle longer than this go, e.g. 1h (default: the daemon's setting)")
      ->check(strata::cli::kPositiveDuration);
  auto* leases = app.add_subcommand("leases", "list leases (holds against garbage collection)");
  std::string lease_id, ttl;
  std::vector<std::string> labels;
  auto* lease_create = leases->add_subcommand("create", "create a lease; prints its id");
  lease_create->add_option("--id", lease_id, "its id (default: generated)")
      ->check(strata::cli::kNonEmpty);
  lease_create->add_option("--ttl", ttl, "expire after this long, e.g. 2h (default: never)")
      ->check(strata::cli::kPositiveDuration);
  lease_create->add_option("--label", labels, "KEY=VALUE (repeatable)")
      ->check(strata::cli::kKeyValue);
  auto* lease_rm =
      leases->add_subcommand("rm", "delete a lease; what it held may then be collected");
  lease_rm->add_option("ID", lease_id, "the lease")->required()->check(strata::cli::kNonEmpty);
  for (CLI::App* sub : {import, pull, push, images, rmi, blobs, snapshots, mount, unmount, commit,
                        squash, exp, fsck, rm, du, gc, leases, lease_create, lease_rm}) {
    sub->add_flag("--json", g.json, "machine-readable output");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e, argc, argv);
  }
  strata::cli::Commands c(g);
  if (*import) return c.Import(file, name);
  if (*pull) return c.Pull(ref, platform, name);
  if (*push) return c.Push(name, ref);
  if (*images) return c.Images();
  if (*rmi) return c.Rmi(name);
  if (*blobs) return c.Blobs();
  if (*snapshots) return c.Snapshots(containerd, tree);
  if (*mount) {
    std::optional<int64_t> bytes = strata::cli::ByteSize(size);
    return c.Mount(name, dir, rw_key, bytes.value_or(0), disk);
  }
  if (*unmount) return c.Unmount(dir);
  if (*commit) return c.Commit(key, name, base, compression, squash_commit);
  if (*squash) return c.Squash(image, name, merge_layers, compression);
  if (*info) return c.Info();
  if (*exp) return c.Export(name, file, format, force);
  if (*fsck) return c.Fsck(repair);
  if (*rm) return c.Rm(key);
  if (*du) return c.Du();
  if (*gc) return c.Gc(dry_run, ingest_max_age);
  if (*lease_create) return c.LeaseCreate(lease_id, ttl, labels);
  if (*lease_rm) return c.LeaseRm(lease_id);
  if (*leases) return c.Leases();
  return 2;
}
