#include "cli/app.h"

#include <cstdlib>
#include <cstring>
#include <set>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/errors.h"
#include "cli/socket_default.h"
#include "strata/version.h"

namespace strata::cli {
namespace {

// Every option's storage. Lives while the command runs: the callbacks below
// capture it by reference.
struct Args {
  std::string file, name, dir, rw_key, key, base, ref, platform, image, size, disk, lease_id, ttl,
      ingest_max_age, source, shell;
  std::string compression = "gzip";
  std::string format = "oci";
  std::vector<std::string> names, labels;
  bool containerd = false, tree = false, force = false, squash_commit = false, repair = false,
       dry_run = false, all = false;
  int merge_layers = 0;
};

using Run = std::function<int(Commands&)>;

// What a parsed command runs: set by its callback.
struct Dispatch {
  Run run;
  std::function<int()> local;  // commands that need no daemon (completion)
};

CLI::App* Command(CLI::App& parent, const std::string& name, const std::string& help, Dispatch* d,
                  Run run) {
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->callback([d, run = std::move(run)] { d->run = run; });
  return sub;
}

void Required(CLI::App* sub, const std::string& name, std::string& into, const std::string& help) {
  sub->add_option(name, into, help)->required()->check(kNonEmpty);
}

void AddListingFlags(CLI::App* sub, ListOptions& list) {
  sub->add_flag("-q,--quiet", list.quiet, "print only identifiers (names, digests, ids)");
  sub->add_option("--filter", list.filters,
                  "KEY=VALUE, VALUE a glob (label=KEY[=VALUE] for labels; repeatable: the "
                  "same key twice is either, different keys are both)");
  sub->add_option("--format", list.format,
                  "a Go-template-like field list, e.g. '{{.Name}} {{.Size}}' ('table ...' "
                  "prints a header)");
  sub->add_flag("--no-trunc", list.no_trunc, "show names and digests in full");
}

void AddImageCommands(CLI::App& app, Args& a, Globals& g, Dispatch* d) {
  auto* import = Command(app, "import", "import an OCI or docker-save archive (every image in it)",
                         d, [&a](Commands& c) { return c.Import(a.file, a.name); });
  Required(import, "FILE", a.file, "the archive, or - for stdin");
  import->add_option("--name", a.name, "name for the image (overrides the archive's)")
      ->check(kNonEmpty);
  auto* exp = Command(app, "export", "write an image as an archive (OCI layout or docker save)", d,
                      [&a](Commands& c) { return c.Export(a.name, a.file, a.format, a.force); });
  Required(exp, "NAME", a.name, "the image");
  Required(exp, "FILE", a.file, "the archive to write, or - for stdout");
  exp->add_option("--format", a.format, "oci or docker")
      ->capture_default_str()
      ->check(CLI::IsMember({"oci", "docker"}));
  exp->add_flag("--force", a.force, "replace FILE if it exists");
  auto* pull = Command(app, "pull", "pull an image from a registry", d,
                       [&a](Commands& c) { return c.Pull(a.ref, a.platform, a.name); });
  Required(pull, "REF", a.ref, "reference, as Docker users write it (debian, host:5000/a/b:tag)");
  pull->add_option("--platform", a.platform, "os/arch[/variant] (default: the daemon's)")
      ->check(kPlatform);
  pull->add_option("--name", a.name, "name for the image (default: the normalised reference)")
      ->check(kNonEmpty);
  auto* push = Command(app, "push", "push an image to a registry", d,
                       [&a](Commands& c) { return c.Push(a.name, a.ref); });
  Required(push, "NAME", a.name, "the image in the store");
  Required(push, "REF", a.ref, "where to, as host:5000/a/b:tag");
  AddListingFlags(Command(app, "images", "list images", d, [](Commands& c) { return c.Images(); }),
                  g.list);
  auto* rmi = Command(app, "rmi", "delete image names (their layers go at garbage collection)", d,
                      [&a](Commands& c) { return c.Rmi(a.names); });
  rmi->add_option("NAME", a.names, "the image names (one or more)")->required()->check(kNonEmpty);
  auto* tag = Command(app, "tag", "give an image another name (a name in use moves)", d,
                      [&a](Commands& c) { return c.Tag(a.source, a.name); });
  Required(tag, "SRC", a.source, "the image");
  Required(tag, "NEW", a.name, "its new name");
  auto* inspect = Command(app, "inspect", "an image's config and layers, as JSON", d,
                          [&a](Commands& c) { return c.Inspect(a.name); });
  Required(inspect, "NAME", a.name, "the image");
  auto* history = Command(app, "history", "how an image was built, newest layer first", d,
                          [&a](Commands& c) { return c.History(a.name); });
  Required(history, "NAME", a.name, "the image");
  AddListingFlags(history, g.list);
}

void AddSnapshotCommands(CLI::App& app, Args& a, Dispatch* d) {
  auto* mount =
      Command(app, "mount", "mount an image's rootfs (read-only, or writable with --rw)", d,
              [&a](Commands& c) {
                return c.Mount(a.name, a.dir, a.rw_key, ByteSize(a.size).value_or(0), a.disk);
              });
  Required(mount, "NAME", a.name, "the image");
  Required(mount, "DIR", a.dir, "where to mount it (not already a mount point)");
  auto* rw = mount
                 ->add_option("--rw", a.rw_key,
                              "writable snapshot KEY (created, or reused if it is above the "
                              "same image)")
                 ->check(kNonEmpty);
  auto* size = mount
                   ->add_option("--size", a.size,
                                "limit the new writable layer to this size (a write past it "
                                "fails with ENOSPC), like 512M or 10G")
                   ->check(kByteSize)
                   ->needs(rw);
  mount
      ->add_option("--disk", a.disk,
                   "fixed: reserve the whole size now; dynamic (the default): take space as "
                   "written")
      ->check(CLI::IsMember({"fixed", "dynamic"}))
      ->needs(size);
  auto* unmount = Command(app, "unmount", "unmount and release what `strata mount` made", d,
                          [&a](Commands& c) { return c.Unmount(a.dir); });
  Required(unmount, "DIR", a.dir, "a directory `strata mount` mounted");
  auto* commit =
      Command(app, "commit", "commit a writable snapshot as a new image", d, [&a](Commands& c) {
        return c.Commit(a.key, a.name, a.base, a.compression, a.squash_commit);
      });
  Required(commit, "KEY", a.key, "the writable snapshot (from mount --rw)");
  commit->add_option("--name", a.name, "name of the new image")->required()->check(kNonEmpty);
  commit
      ->add_option("--base", a.base,
                   "the image it builds on (default: the one it was mounted from)")
      ->check(kNonEmpty);
  commit->add_option("--compression", a.compression, "gzip, zstd or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  commit->add_flag("--squash", a.squash_commit,
                   "merge the changes into the image's top layer (as many layers as the base)");
  auto* squash = Command(
      app, "squash", "merge an image's top layers into one, as a new image (the rest stay shared)",
      d, [&a](Commands& c) { return c.Squash(a.image, a.name, a.merge_layers, a.compression); });
  Required(squash, "NAME", a.image, "the image");
  squash->add_option("--name", a.name, "name of the new image")->required()->check(kNonEmpty);
  squash->add_option("--layers", a.merge_layers, "how many of the top layers (default: all)")
      ->check(CLI::Range(1, 1 << 20));
  squash->add_option("--compression", a.compression, "gzip, zstd or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  auto* rm = Command(app, "rm", "remove a snapshot (native key space)", d,
                     [&a](Commands& c) { return c.Rm(a.key, a.force); });
  Required(rm, "KEY", a.key, "the snapshot's key");
  rm->add_flag("-f,--force", a.force,
               "unmount it first where strata mount mounted it (else a mounted snapshot is "
               "refused)");
}

void AddStoreCommands(CLI::App& app, Args& a, Globals& g, Dispatch* d) {
  auto* snapshots = Command(app, "snapshots", "list snapshots (the native key space)", d,
                            [&a](Commands& c) { return c.Snapshots(a.containerd, a.tree); });
  snapshots->add_flag("--containerd", a.containerd, "list containerd's key space instead");
  snapshots->add_flag("--tree", a.tree, "show each snapshot under its parent");
  AddListingFlags(snapshots, g.list);
  AddListingFlags(
      Command(app, "blobs", "list stored blobs", d, [](Commands& c) { return c.Blobs(); }), g.list);
  Command(app, "du", "disk use per image: unique and shared bytes, what sharing saves", d,
          [](Commands& c) { return c.Du(); });
  auto* fsck = Command(app, "fsck", "check the store (exit 0: clean, 3: problems remain)", d,
                       [&a](Commands& c) { return c.Fsck(a.repair); });
  fsck->add_flag("--repair", a.repair, "fix what can be fixed");
  auto* gc = Command(app, "gc", "remove what nothing references (images, leases, roots)", d,
                     [&a](Commands& c) { return c.Gc(a.dry_run, a.ingest_max_age); });
  gc->add_flag("--dry-run", a.dry_run, "only say what would go and how many bytes");
  gc->add_option("--ingest-max-age", a.ingest_max_age,
                 "ingests idle longer than this go, e.g. 1h (default: the daemon's setting)")
      ->check(kPositiveDuration);
  auto* prune = Command(app, "prune",
                        "delete images no container uses (digest-only names; all with --all), "
                        "then collect garbage",
                        d, [&a](Commands& c) { return c.Prune(a.all, a.dry_run); });
  prune->add_flag("-a,--all", a.all, "every image no container uses, not only digest-only names");
  prune->add_flag("--dry-run", a.dry_run, "only say what would go and how many bytes");
  auto* system = app.add_subcommand("system", "the store as a whole");
  system->require_subcommand(1);
  Command(*system, "df", "disk use by images, containers and build cache, and what is reclaimable",
          d, [](Commands& c) { return c.SystemDf(); });
  Command(app, "info", "the daemon: version, root, socket, backends, counts, disk", d,
          [](Commands& c) { return c.Info(); });
  Command(app, "version", "the client's version and the daemon's", d,
          [](Commands& c) { return c.Version(); });
}

void AddLeaseCommands(CLI::App& app, Args& a, Globals& g, Dispatch* d) {
  auto* leases = app.add_subcommand("leases", "list leases (holds against garbage collection)");
  AddListingFlags(leases, g.list);
  leases->callback([d, leases] {
    if (leases->get_subcommands().empty()) d->run = [](Commands& c) { return c.Leases(); };
  });
  auto* create = Command(*leases, "create", "create a lease; prints its id", d,
                         [&a](Commands& c) { return c.LeaseCreate(a.lease_id, a.ttl, a.labels); });
  create->add_option("--id", a.lease_id, "its id (default: generated)")->check(kNonEmpty);
  create->add_option("--ttl", a.ttl, "expire after this long, e.g. 2h (default: never)")
      ->check(kPositiveDuration);
  create->add_option("--label", a.labels, "KEY=VALUE (repeatable)")->check(kKeyValue);
  auto* rm = Command(*leases, "rm", "delete a lease; what it held may then be collected", d,
                     [&a](Commands& c) { return c.LeaseRm(a.lease_id); });
  Required(rm, "ID", a.lease_id, "the lease");
}

void AddCompletion(CLI::App& app, Args& a, Dispatch* d) {
  auto* completion = app.add_subcommand(
      "completion", "print a shell completion script (bash: source it; zsh: put it on fpath)");
  completion->add_option("SHELL", a.shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->callback([&app, &a, d] {
    d->local = [&app, &a] {
      std::fputs((a.shell == "bash" ? BashCompletion(app) : ZshCompletion(app)).c_str(), stdout);
      return 0;
    };
  });
}

void AddManPage(CLI::App& app, Dispatch* d) {
  auto* man = app.add_subcommand("man-page", "print strata(1), the manual page (roff)");
  man->callback([&app, d] {
    d->local = [&app] {
      std::fputs(ManPage(app, STRATA_VERSION).c_str(), stdout);
      return 0;
    };
  });
}

// --json on every command, as on the CLI itself.
void AddJsonEverywhere(CLI::App& app, bool& json) {
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() != "completion" && sub->get_name() != "man-page") {
      sub->add_flag("--json", json, "machine-readable output");
      AddJsonEverywhere(*sub, json);
    }
  }
}

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

// The first option on the line that neither the program nor its command
// knows, or "".
std::string UnknownOption(const CLI::App& app, int argc, char** argv) {
  const CLI::App* scope = &app;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.empty() || arg == "-" || arg[0] != '-') {  // "-": stdin or stdout
      if (const CLI::App* sub = [&]() -> const CLI::App* {
            for (const CLI::App* s : scope->get_subcommands([](const CLI::App*) { return true; })) {
              if (s->get_name() == arg) return s;
            }
            return nullptr;
          }()) {
        scope = sub;
      }
      continue;
    }
    std::string name = arg.substr(0, arg.find('='));
    const CLI::Option* known = nullptr;
    for (const CLI::App* s = scope; s != nullptr && known == nullptr; s = s->get_parent()) {
      for (const CLI::Option* o : s->get_options()) {
        if (o->check_name(name)) known = o;
      }
    }
    if (known == nullptr) return name;
    // Its value ("--ttl -5s") is the next word, whatever it looks like.
    if (known->get_expected_max() > 0 && arg.find('=') == std::string::npos) ++i;
  }
  return "";
}

// CLI11's own errors, reworded where they mislead and prefixed as ours.
int UsageError(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string word = CommandWord(argc, argv);
  std::set<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.insert(sub->get_name());
  }
  std::string message = e.what();
  std::string option = UnknownOption(app, argc, argv);
  if (!word.empty() && !commands.count(word)) {
    message = "unknown command \"" + word + "\" (see strata --help)";
  } else if (!option.empty()) {
    message = "unknown option \"" + option + "\" (see strata " +
              (word.empty() ? std::string() : word + " ") + "--help)";
  } else if (word.empty()) {
    message = "a command is required (see strata --help)";
  }
  return ReportError(message, "USAGE", kExitUsage, WantsJson(argc, argv));
}

}  // namespace

int RunCli(int argc, char** argv) {
  Globals g;
  g.socket = DefaultSocket();
  Args a;
  Dispatch d;
  CLI::App app{"strata: container image layer store"};
  app.require_subcommand(1);
  app.add_option("--socket", g.socket,
                 "stratad's socket (default: $STRATA_SOCKET, else the config file's socket)")
      ->capture_default_str()
      ->check(kNonEmpty);
  app.add_flag("--json", g.json, "machine-readable output");
  AddImageCommands(app, a, g, &d);
  AddSnapshotCommands(app, a, &d);
  AddStoreCommands(app, a, g, &d);
  AddLeaseCommands(app, a, g, &d);
  AddCompletion(app, a, &d);
  AddManPage(app, &d);
  AddJsonEverywhere(app, g.json);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e, argc, argv);
  }
  if (d.local) return d.local();
  if (!d.run)
    return ReportError("a command is required (see strata --help)", "USAGE", kExitUsage, g.json);
  Commands c(g);
  return d.run(c);
}

}  // namespace strata::cli
