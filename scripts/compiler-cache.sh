# Sourced by the build scripts: when ccache is installed, every build goes
# through it (CMAKE_ARGS gains the launcher). The test command builds the
# same sources four ways (plain, ASan, TSan, fuzz) in every clone; with the
# cache, a clone built before on this machine compiles only what changed.
# Paths are taken relative to the clone (CCACHE_BASEDIR, CCACHE_NOHASHDIR),
# so another clone of the same sources hits the same entries.
if command -v ccache > /dev/null 2>&1; then
  export CCACHE_BASEDIR=$PWD  # the clone being built
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
  CCACHE_LAUNCHER="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
else
  CCACHE_LAUNCHER=""
fi
