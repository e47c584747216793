#!/usr/bin/env bash
# Runs one fuzz target under AFL++ with SharpFuzz instrumentation (fuzz/README.md).
#   fuzz/fuzz.sh <target> [seconds]     e.g. fuzz/fuzz.sh challenge 1800
# Needs afl-fuzz (Debian: apt-get install afl++) and the .NET SDK. Builds and instruments once into fuzz/work/,
# writes the seed corpus to fuzz/out/seeds/ and the findings to fuzz/out/<target>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:?usage: fuzz/fuzz.sh <target> [seconds]}"
DURATION="${2:-1800}"
WORK="$ROOT/fuzz/work"
OUT="$ROOT/fuzz/out"
BIN="$WORK/bin"

command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 2; }

# Build and instrument once (a marker records that the copy under fuzz/work/bin is instrumented).
if [ ! -f "$BIN/.instrumented" ]; then
  rm -rf "$BIN"
  dotnet publish "$ROOT/fuzz/Mpp.Client.Fuzz/Mpp.Client.Fuzz.csproj" -c Release -o "$BIN" --nologo -v quiet
  [ -x "$WORK/tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$WORK/tools"
  for assembly in Mpp.Client.dll Mpp.Client.Tempo.dll Mpp.Client.Mcp.dll; do
    "$WORK/tools/sharpfuzz" "$BIN/$assembly"
  done
  touch "$BIN/.instrumented"
fi

# The seeds come from the plain build: instrumented code runs only under the fuzzer (it writes AFL's coverage map).
if [ ! -d "$OUT/seeds/$TARGET" ]; then
  dotnet build "$ROOT/fuzz/Mpp.Client.Fuzz/Mpp.Client.Fuzz.csproj" -c Release --nologo -v quiet
  dotnet "$ROOT/fuzz/Mpp.Client.Fuzz/bin/Release/net10.0/Mpp.Client.Fuzz.dll" seeds "$ROOT/tests/Mpp.Client.ReliabilityTests/Vectors" "$OUT/seeds"
fi

DICTIONARY="$ROOT/fuzz/dictionaries/json.dict"
[ "$TARGET" = challenge ] && DICTIONARY="$ROOT/fuzz/dictionaries/header.dict"

# dotnet itself is not an AFL-instrumented binary (SharpFuzz reports coverage from inside the process); the machine is
# shared, so no CPU pinning; crashes are read from the exit status, not from core files.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=1 DOTNET_ReadyToRun=1
mkdir -p "$OUT"
exec afl-fuzz -i "$OUT/seeds/$TARGET" -o "$OUT/$TARGET" -V "$DURATION" -t 5000 -m none -x "$DICTIONARY" \
  -- dotnet "$BIN/Mpp.Client.Fuzz.dll" run "$TARGET"
